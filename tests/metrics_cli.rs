//! `pbtnas metrics fid|kid|prdc A B` end to end: the input forms (folders, image arrays, dataset
//! names, statistics files) and their errors, and, with the real Inception weights
//! (`PBTNAS_INCEPTION_WEIGHTS`, as `.ci/run` sets), the values of the reference implementations
//! on a pair of image sets (`scripts/fixtures/metrics-pair.py`: fid-helper's Inception, clean-fid's
//! FID, torch-fidelity's KID and precision/recall, prdc's density and coverage).

mod common;

use std::path::Path;

use common::{ok, pbtnas};
use serde_json::Value;

const N: usize = 40;
const SIZE: usize = 32;

/// The pixel (i, c, y, x) of set `a` or `b`, the formulas of `scripts/fixtures/metrics-pair.py`.
fn pixel(set: char, i: usize, c: usize, y: usize, x: usize) -> u8 {
    let family_a = |i: usize| i * 37 + c * 71 + y * 5 + x * 3 + (x * y) % 17;
    let v = match set {
        'a' => family_a(i),
        _ if i < 30 => family_a(i + N),
        _ => i * 53 + c * 29 + (y / 4) * 40 + x * 7 + (x * y + i) % 23,
    };
    (v % 256) as u8
}

/// Writes set `a` or `b` as PNG files `000.png`… into `dir`.
fn write_folder(set: char, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..N {
        let img = image::RgbImage::from_fn(SIZE as u32, SIZE as u32, |x, y| {
            image::Rgb(std::array::from_fn(|c| {
                pixel(set, i, c, y as usize, x as usize)
            }))
        });
        img.save(dir.join(format!("{i:03}.png"))).unwrap();
    }
}

fn json_of(args: &[&str]) -> Value {
    let out = ok(pbtnas(args).output().unwrap());
    serde_json::from_slice(&out.stdout).unwrap()
}

fn fails(args: &[&str]) -> String {
    let out = pbtnas(args).output().unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn fid_kid_and_prdc_match_the_reference_implementations() {
    let Some(weights) = std::env::var_os("PBTNAS_INCEPTION_WEIGHTS") else {
        eprintln!("PBTNAS_INCEPTION_WEIGHTS not set: skipping the comparison with the references");
        return;
    };
    let weights = weights.to_str().unwrap();
    let want: Value = serde_json::from_str(include_str!("fixtures/metrics_pair.json")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    write_folder('a', &a);
    write_folder('b', &b);
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let with = |cmd: &str, x: &str, y: &str, extra: &[&str]| {
        let mut args = vec!["metrics", cmd, x, y, "--weights", weights, "--json"];
        args.extend_from_slice(extra);
        json_of(&args)
    };
    let rel = |got: f64, want: f64| (got - want).abs() / want.abs();
    let want_fid = want["fid"].as_f64().unwrap();
    let fid = with("fid", a, b, &[])["fid"].as_f64().unwrap();
    assert!(
        rel(fid, want_fid) < 1e-3,
        "FID {fid} vs reference {want_fid}"
    );

    // The same against b's statistics file, made by `ref-stats --out`.
    let stats = tmp.path().join("b-stats.npz");
    let stats_s = stats.to_str().unwrap();
    ok(pbtnas(&[
        "metrics",
        "ref-stats",
        b,
        "--out",
        stats_s,
        "--weights",
        weights,
    ])
    .output()
    .unwrap());
    let fid_stats = with("fid", a, stats_s, &[])["fid"].as_f64().unwrap();
    assert!(
        rel(fid_stats, want_fid) < 1e-3,
        "FID against statistics {fid_stats} vs {want_fid}"
    );
    let err = fails(&["metrics", "kid", a, stats_s, "--weights", weights]);
    assert!(err.contains("needs images on both sides"), "{err}");

    // KID over subsets of all 40: every subset is the whole set, the estimate is deterministic.
    let kid = with("kid", a, b, &["--subsets", "3"])["kid_mean"]
        .as_f64()
        .unwrap();
    let want_kid = want["kid_mean"].as_f64().unwrap();
    assert!(
        rel(kid, want_kid) < 2e-3,
        "KID {kid} vs reference {want_kid}"
    );

    let s = with("prdc", a, b, &[]);
    for key in ["precision", "recall", "density", "coverage"] {
        let (g, w) = (s[key].as_f64().unwrap(), want[key].as_f64().unwrap());
        assert!((g - w).abs() < 1e-6, "{key} {g} vs reference {w}");
    }
}

#[test]
fn inputs_in_every_form_are_read_and_bad_ones_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Random Inception weights: the forms are what is tested here, not the values.
    let weights = dir.join("w.safetensors");
    let tensors = pbtnas_metrics::Inception::random_tensors(0).unwrap();
    candle_core::safetensors::save(&tensors, &weights).unwrap();
    let w = weights.to_str().unwrap();
    let a = dir.join("a");
    write_folder('a', &a);
    let a_s = a.to_str().unwrap();

    // The same images as an (N, H, W, 3) uint8 .npy and as a one-array .npz.
    let mut nhwc = Vec::with_capacity(N * SIZE * SIZE * 3);
    for i in 0..N {
        for y in 0..SIZE {
            for x in 0..SIZE {
                nhwc.extend((0..3).map(|c| pixel('a', i, c, y, x)));
            }
        }
    }
    let t =
        candle_core::Tensor::from_vec(nhwc, (N, SIZE, SIZE, 3), &candle_core::Device::Cpu).unwrap();
    let npy = dir.join("a.npy");
    t.write_npy(&npy).unwrap();
    let npz = dir.join("a.npz");
    candle_core::Tensor::write_npz(&[("arr_0", &t)], &npz).unwrap();
    let fid = |x: &str, y: &str| {
        json_of(&[
            "metrics",
            "fid",
            x,
            y,
            "--limit",
            "8",
            "--weights",
            w,
            "--json",
        ])["fid"]
            .as_f64()
            .unwrap()
    };
    // A dataset name (the embedded shapes at 32×32) against the folder: a positive FID…
    let apart = fid(a_s, "shapes");
    assert!(apart > 0.0, "{apart}");
    // …and the same images in three forms: FID 0 to rounding (8 images, random weights).
    for other in [&npy, &npz] {
        let v = fid(a_s, other.to_str().unwrap());
        assert!(
            v.abs() < 1e-6 * apart,
            "{} vs folder: FID {v} (apart: {apart})",
            other.display()
        );
    }

    // Errors name the file or the name.
    let mixed = dir.join("mixed");
    write_folder('a', &mixed);
    image::RgbImage::new(16, 16)
        .save(mixed.join("zzz.png"))
        .unwrap();
    let err = fails(&[
        "metrics",
        "fid",
        a_s,
        mixed.to_str().unwrap(),
        "--weights",
        w,
    ]);
    assert!(err.contains("zzz.png") && err.contains("16×16"), "{err}");
    let broken = dir.join("broken");
    write_folder('a', &broken);
    std::fs::write(broken.join("bad.png"), b"not a png").unwrap();
    let err = fails(&[
        "metrics",
        "fid",
        a_s,
        broken.to_str().unwrap(),
        "--weights",
        w,
    ]);
    assert!(
        err.contains("bad.png") && err.contains("cannot decode"),
        "{err}"
    );
    let floats = dir.join("f.npy");
    candle_core::Tensor::zeros(
        (4, 8, 8, 3),
        candle_core::DType::F32,
        &candle_core::Device::Cpu,
    )
    .unwrap()
    .write_npy(&floats)
    .unwrap();
    let err = fails(&[
        "metrics",
        "fid",
        a_s,
        floats.to_str().unwrap(),
        "--weights",
        w,
    ]);
    assert!(err.contains("f.npy") && err.contains("uint8"), "{err}");
    let err = fails(&["metrics", "fid", a_s, "no-such-set", "--weights", w]);
    assert!(
        err.contains("no-such-set") && err.contains("not a dataset name"),
        "{err}"
    );
}
