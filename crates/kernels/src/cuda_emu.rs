//! Tests of the CUDA kernels (`*.cu`) without a GPU: g++ compiles each kernel file as C++ after
//! `cuda_emu.h`, which runs a launch's blocks in turn and each block's threads as OS threads, and
//! each kernel's results must equal those of the CPU op it stands for (exactly where the
//! arithmetic is the same, to 1e-5 where sums run in another order). The launch shapes are
//! `cuda.rs`'s. On a GPU, `tests/device_parity.rs` checks the same kernels compiled by nvcc.

use std::ffi::{c_void, CString};
use std::path::Path;

use candle_core::{Device, Tensor};

use super::cuda::{blocks_for, BLOCK, REDUCE_BLOCK};

/// One kernel file compiled for the CPU and loaded.
struct Kernels {
    lib: *mut c_void,
}

/// A kernel argument.
enum Arg<'a> {
    U64(u64),
    I32(i32),
    F32(f32),
    F64(f64),
    In(&'a [f32]),
    Out(&'a mut [f32]),
}

type Launcher = unsafe extern "C" fn(*const u32, *const u32, *mut *mut c_void);

impl Kernels {
    /// Compiles `src/<file>.cu` with an `emu_<kernel>` launcher for each of `kernels`.
    fn compile(file: &str, kernels: &[&str]) -> Kernels {
        let ops = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let dir = std::env::temp_dir().join(format!("pbtnas-cuda-emu-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut src = format!(
            "#include \"{}\"\n#include \"{}\"\n",
            ops.join("cuda_emu.h").display(),
            ops.join(format!("{file}.cu")).display()
        );
        for k in kernels {
            src += &format!(
                "extern \"C\" __attribute__((visibility(\"default\"))) void emu_{k}(\
                 const unsigned *g, const unsigned *b, void **p) {{ emu_launch({k}, g, b, p); }}\n"
            );
        }
        let (cpp, lib) = (
            dir.join(format!("{file}.cpp")),
            dir.join(format!("lib{file}.so")),
        );
        std::fs::write(&cpp, src).unwrap();
        let out = std::process::Command::new("g++")
            // Nothing but the launchers is exported, so the libraries loaded at once share no
            // symbol (tests run in parallel).
            .args(["-std=c++20", "-O2", "-shared", "-fPIC", "-pthread"])
            .args(["-fvisibility=hidden", "-fno-gnu-unique", "-o"])
            .arg(&lib)
            .arg(&cpp)
            .output()
            .expect("g++ (apt install g++) compiles the CUDA kernels for the CPU");
        assert!(
            out.status.success(),
            "g++ failed on {file}.cu:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = CString::new(lib.to_str().unwrap()).unwrap();
        // SAFETY: a library just built from the kernel file; loading runs no user code.
        let lib = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        assert!(!lib.is_null(), "cannot load the emulated {file}.cu");
        Kernels { lib }
    }

    /// Runs `kernel` on `grid` blocks of `block` threads. The arguments must be the kernel's
    /// parameters in order and type.
    fn launch(&self, kernel: &str, grid: u32, block: u32, args: &mut [Arg<'_>]) {
        let name = CString::new(format!("emu_{kernel}")).unwrap();
        // SAFETY: the symbol was defined by `compile` with the `Launcher` signature.
        let f: Launcher = unsafe {
            let sym = libc::dlsym(self.lib, name.as_ptr());
            assert!(!sym.is_null(), "no kernel {kernel}");
            std::mem::transmute::<*mut c_void, Launcher>(sym)
        };
        // Every parameter's value in 8 aligned bytes; 4-byte ones in the low bytes, which is
        // where a little-endian read of an int or float at that address finds them.
        let low = |b: [u8; 4]| u64::from(u32::from_ne_bytes(b));
        let mut values: Vec<u64> = args
            .iter_mut()
            .map(|a| match a {
                Arg::U64(v) => *v,
                Arg::I32(v) => low(v.to_ne_bytes()),
                Arg::F32(v) => low(v.to_ne_bytes()),
                Arg::F64(v) => v.to_bits(),
                Arg::In(s) => s.as_ptr() as u64,
                Arg::Out(s) => s.as_mut_ptr() as u64,
            })
            .collect();
        let mut params: Vec<*mut c_void> = values
            .iter_mut()
            .map(|v| v as *mut u64 as *mut c_void)
            .collect();
        let (g, b) = ([grid, 1, 1], [block, 1, 1]);
        // SAFETY: the caller passes the kernel's parameters; the slices outlive the call.
        unsafe { f(g.as_ptr(), b.as_ptr(), params.as_mut_ptr()) };
    }
}

fn random(shape: &[usize], seed: u64) -> Tensor {
    use rand::SeedableRng;
    use rand_distr::Distribution;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| rand_distr::StandardNormal.sample(&mut rng))
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

fn data(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1.0),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

#[test]
fn update_kernels_match_the_cpu() {
    use super::{AdamStep, Blend};
    let k = Kernels::compile("update", &["pbtnas_blend", "pbtnas_adam_step"]);
    let n = 1000;
    let (p, src) = (random(&[n], 1), random(&[n], 2));
    let v = random(&[n], 3).abs().unwrap();
    for square in [false, true] {
        let (keep, take) = (0.9f32, 0.1f32);
        let want = p.copy().unwrap();
        want.inplace_op2(&src, &Blend { keep, take, square })
            .unwrap();
        let (mut got, s) = (data(&p), data(&src));
        let args = &mut [
            Arg::U64(n as u64),
            Arg::Out(&mut got),
            Arg::In(&s),
            Arg::F32(keep),
            Arg::F32(take),
            Arg::I32(square as i32),
        ];
        k.launch("pbtnas_blend", blocks_for(n), BLOCK, args);
        assert_eq!(got, data(&want), "blend, square {square}");
    }
    let op = AdamStep {
        shrink: 0.999,
        step: 0.01,
        inv_sqrt_bc2: 1.3,
        eps: 1e-8,
    };
    let want = p.copy().unwrap();
    want.inplace_op3(&src, &v, &op).unwrap();
    let (mut got, m, vv) = (data(&p), data(&src), data(&v));
    let args = &mut [
        Arg::U64(n as u64),
        Arg::Out(&mut got),
        Arg::In(&m),
        Arg::In(&vv),
        Arg::F32(op.shrink),
        Arg::F32(op.step),
        Arg::F32(op.inv_sqrt_bc2),
        Arg::F32(op.eps),
    ];
    k.launch("pbtnas_adam_step", blocks_for(n), BLOCK, args);
    assert_eq!(got, data(&want), "adam step");
}

#[test]
fn upsample_kernels_match_the_cpu() {
    let k = Kernels::compile("resample", &["pbtnas_upsample2x", "pbtnas_upsample2x_grad"]);
    for (shape, seed) in [([2, 3, 5, 7], 4), ([1, 2, 1, 4], 5), ([1, 1, 3, 1], 6)] {
        let [n, c, h, w] = shape;
        let x = random(&shape, seed);
        let gy = random(&[n, c, 2 * h, 2 * w], seed + 10);
        for bilinear in [true, false] {
            let what = format!("{shape:?}, bilinear {bilinear}");
            let xv = candle_core::Var::from_tensor(&x).unwrap();
            let y = super::upsample2x(xv.as_tensor(), bilinear).unwrap();
            let gx = (&y * &gy).unwrap().sum_all().unwrap().backward().unwrap();
            let gx = data(gx.get(xv.as_tensor()).unwrap());
            let (xs, gys) = (data(&x), data(&gy));
            let mut got = vec![f32::NAN; 4 * xs.len()];
            let args = &mut [
                Arg::U64(got.len() as u64),
                Arg::U64(h as u64),
                Arg::U64(w as u64),
                Arg::I32(bilinear as i32),
                Arg::In(&xs),
                Arg::Out(&mut got),
            ];
            k.launch("pbtnas_upsample2x", blocks_for(4 * xs.len()), BLOCK, args);
            assert_eq!(got, data(&y), "forward, {what}");
            let mut got = vec![f32::NAN; xs.len()];
            let args = &mut [
                Arg::U64(xs.len() as u64),
                Arg::U64(h as u64),
                Arg::U64(w as u64),
                Arg::I32(bilinear as i32),
                Arg::In(&gys),
                Arg::Out(&mut got),
            ];
            k.launch("pbtnas_upsample2x_grad", blocks_for(xs.len()), BLOCK, args);
            assert_close(&got, &gx, 1e-6, &format!("gradient, {what}"));
        }
    }
}

#[test]
fn batch_norm_kernels_match_the_cpu() {
    use super::batch_norm::{ncp, ChannelStats, GradInput, GradSums};
    let k = Kernels::compile(
        "batch_norm",
        &[
            "pbtnas_bn_stats",
            "pbtnas_bn_forward",
            "pbtnas_bn_grad_sums",
            "pbtnas_bn_grad_input",
        ],
    );
    let eps = 1e-5;
    // Per channel: 300 elements (more than a block), 5 (fewer), and 2 of a 2-D input.
    for (shape, seed) in [
        (vec![3, 4, 10, 10], 7),
        (vec![5, 2, 1, 1], 8),
        (vec![2, 3], 9),
    ] {
        let (n, c, p) = ncp(&shape).unwrap();
        let x = random(&shape, seed).affine(2.0, 0.5).unwrap();
        let (gamma, beta) = (random(&[c], seed + 1), random(&[c], seed + 2));
        let gy = random(&shape, seed + 3);
        let (xs, gs, bs, gys) = (data(&x), data(&gamma), data(&beta), data(&gy));
        let (n64, c64, p64, t64) = (n as u64, c as u64, p as u64, xs.len() as u64);
        let what = format!("{shape:?}");

        let want = x.apply_op1_no_bwd(&ChannelStats).unwrap();
        let mut stats = vec![f32::NAN; 2 * c];
        let args = &mut [
            Arg::U64(n64),
            Arg::U64(c64),
            Arg::U64(p64),
            Arg::In(&xs),
            Arg::Out(&mut stats),
        ];
        k.launch("pbtnas_bn_stats", c as u32, REDUCE_BLOCK, args);
        assert_close(&stats, &data(&want), 1e-5, &format!("statistics, {what}"));
        // From here on both sides start from the same statistics.
        let st = Tensor::from_vec(stats.clone(), (2, c), &Device::Cpu).unwrap();

        let (y, _, _) = super::batch_norm_train(&x, &gamma, &beta, eps).unwrap();
        let mut got = vec![f32::NAN; xs.len()];
        let args = &mut [
            Arg::U64(t64),
            Arg::U64(c64),
            Arg::U64(p64),
            Arg::In(&xs),
            Arg::In(&stats),
            Arg::In(&gs),
            Arg::In(&bs),
            Arg::F64(eps),
            Arg::Out(&mut got),
        ];
        k.launch("pbtnas_bn_forward", blocks_for(xs.len()), BLOCK, args);
        assert_close(&got, &data(&y), 1e-5, &format!("forward, {what}"));

        let op = GradSums {
            eps,
            stats: st.clone(),
        };
        let want = gy.apply_op2_no_bwd(&x, &op).unwrap();
        let mut sums = vec![f32::NAN; 2 * c];
        let args = &mut [
            Arg::U64(n64),
            Arg::U64(c64),
            Arg::U64(p64),
            Arg::In(&gys),
            Arg::In(&xs),
            Arg::In(&stats),
            Arg::F64(eps),
            Arg::Out(&mut sums),
        ];
        k.launch("pbtnas_bn_grad_sums", c as u32, REDUCE_BLOCK, args);
        assert_close(&sums, &data(&want), 1e-5, &format!("gradient sums, {what}"));

        let op = GradInput {
            eps,
            stats: st,
            sums: Tensor::from_vec(sums.clone(), (2, c), &Device::Cpu).unwrap(),
            gamma: gamma.clone(),
        };
        let want = gy.apply_op2_no_bwd(&x, &op).unwrap();
        let mut got = vec![f32::NAN; xs.len()];
        let args = &mut [
            Arg::U64(t64),
            Arg::U64(c64),
            Arg::U64(p64),
            Arg::In(&gys),
            Arg::In(&xs),
            Arg::In(&stats),
            Arg::In(&sums),
            Arg::In(&gs),
            Arg::F64(eps),
            Arg::F64((n * p) as f64),
            Arg::Out(&mut got),
        ];
        k.launch("pbtnas_bn_grad_input", blocks_for(xs.len()), BLOCK, args);
        assert_eq!(got, data(&want), "input gradient, {what}");
    }
}
