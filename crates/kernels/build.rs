//! With the `cuda` feature, compiles the CUDA kernels of `src/*.cu` to PTX for the driver to
//! load (compute capability 7.5, the oldest CUDA 13 compiles for, so any newer GPU runs it):
//! `nvcc` from `NVCC`, else from `PATH` (`scripts/setup/cuda-build.sh` provides both).
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_CUDA").is_none() {
        return;
    }
    let nvcc = std::env::var("NVCC").unwrap_or_else(|_| "nvcc".into());
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo::rerun-if-env-changed=NVCC");
    for name in ["update", "resample", "batch_norm"] {
        let src = format!("src/{name}.cu");
        println!("cargo::rerun-if-changed={src}");
        let status = std::process::Command::new(&nvcc)
            .args(["-ptx", "-O3", "-arch=compute_75", &src, "-o"])
            .arg(out.join(format!("{name}.ptx")))
            .status()
            .unwrap_or_else(|e| panic!("cannot run {nvcc} (scripts/setup/cuda-build.sh): {e}"));
        assert!(status.success(), "{nvcc} failed on {src}");
    }
}
