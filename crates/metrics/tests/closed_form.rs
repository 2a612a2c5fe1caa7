//! The metric maths on cases with exact answers (docs/metrics.md, "Test fixtures"): Fréchet
//! distance of identical, diagonal and commuting statistics, against scipy's `sqrtm`
//! (scripts/fixtures/frechet.py) incl. a rank-deficient case; IS of uniform, confident and
//! hand-computed predictions; KID by hand; TF1 resize and quantisation on small cases; `.npz`
//! statistics in numpy's layout.

use faer::Mat;
use pbtnas_metrics::resize::{quantize_u8, resize_bilinear_tf1};
use pbtnas_metrics::{
    frechet_distance, inception_score, kernel_distance, FeatureStats, IsOptions, KidOptions,
    StatsAccumulator,
};

fn stats(mu: Vec<f64>, sigma: Mat<f64>) -> FeatureStats {
    FeatureStats { n: 0, mu, sigma }
}

/// The deterministic features of scripts/fixtures/frechet.py.
fn features(n: usize, d: usize, a: f64, b: f64, c: f64) -> Vec<f32> {
    (0..n)
        .flat_map(|i| {
            (0..d).map(move |j| {
                let (i, j) = (i as f64, j as f64);
                ((a * i + b * j).sin() + 0.5 * (c * i * j).cos() + 0.01 * j) as f32
            })
        })
        .collect()
}

#[test]
fn frechet_distance_of_identical_statistics_is_zero() {
    let s = FeatureStats::of(&features(50, 16, 0.37, 1.3, 0.11), 16).unwrap();
    let fd = frechet_distance(&s, &s).unwrap();
    assert!(fd.abs() < 1e-9, "{fd}");
}

#[test]
fn frechet_distance_of_diagonal_and_commuting_covariances_is_closed_form() {
    let (a, b) = ([1.0, 4.0, 0.25, 9.0], [2.0, 1.0, 0.25, 16.0]);
    let (mu1, mu2) = (vec![0.0, 1.0, 2.0, 3.0], vec![1.0, 1.0, 0.0, 3.5]);
    let want = 1.0
        + 4.0
        + 0.25
        + a.iter()
            .zip(&b)
            .map(|(x, y): (&f64, &f64)| (x.sqrt() - y.sqrt()).powi(2))
            .sum::<f64>();
    let diag = |v: [f64; 4]| Mat::from_fn(4, 4, |i, j| if i == j { v[i] } else { 0.0 });
    let fd = frechet_distance(&stats(mu1.clone(), diag(a)), &stats(mu2.clone(), diag(b))).unwrap();
    assert!((fd - want).abs() < 1e-12, "diagonal: {fd} vs {want}");
    // The same spectra in a shared rotated basis Q = I − 2vvᵀ/|v|² (a reflection).
    let v = [1.0, -2.0, 0.5, 3.0];
    let vv: f64 = v.iter().map(|x| x * x).sum();
    let q = Mat::from_fn(4, 4, |i, j| (i == j) as u8 as f64 - 2.0 * v[i] * v[j] / vv);
    let rotate = |s: [f64; 4]| &q * diag(s) * q.transpose();
    let fd = frechet_distance(&stats(mu1, rotate(a)), &stats(mu2, rotate(b))).unwrap();
    assert!((fd - want).abs() < 1e-10, "commuting: {fd} vs {want}");
}

#[test]
fn statistics_and_frechet_distance_match_numpy_and_scipy() {
    // (n1, n2, FD, sigma1[3,5], mu1[7]) from scripts/fixtures/frechet.py.
    for (n1, n2, want, s35, m7, tol) in [
        (
            200,
            150,
            18.192959339661,
            -0.383643434240144,
            0.055947167985141,
            1e-9,
        ),
        (
            10,
            12,
            21.778926877897,
            -0.140158266434460,
            -0.356623747199774,
            1e-6,
        ),
    ] {
        let x = FeatureStats::of(&features(n1, 24, 0.37, 1.3, 0.11), 24).unwrap();
        let y = FeatureStats::of(&features(n2, 24, 0.23, 0.7, 0.05), 24).unwrap();
        assert!((x.sigma[(3, 5)] - s35).abs() < 1e-12, "{}", x.sigma[(3, 5)]);
        assert!((x.mu[7] - m7).abs() < 1e-12, "{}", x.mu[7]);
        let fd = frechet_distance(&x, &y).unwrap();
        assert!(
            (fd - want).abs() / want < tol,
            "n = {n1}: {fd} vs scipy {want}"
        );
    }
}

#[test]
fn streamed_statistics_equal_one_pass() {
    let f = features(97, 12, 0.5, 0.9, 0.3);
    let whole = FeatureStats::of(&f, 12).unwrap();
    let mut acc = StatsAccumulator::new(12);
    for chunk in f.chunks(12 * 10) {
        acc.add(chunk).unwrap();
    }
    let parts = acc.finish().unwrap();
    assert_eq!(parts.n, 97);
    for i in 0..12 {
        assert!((whole.mu[i] - parts.mu[i]).abs() < 1e-14);
        for j in 0..12 {
            assert!((whole.sigma[(i, j)] - parts.sigma[(i, j)]).abs() < 1e-13);
        }
    }
    assert!(StatsAccumulator::new(12).finish().is_err());
    assert!(FeatureStats::of(&f[..13], 12).is_err());
}

/// An `.npy` (format 1.0) of f64 values as numpy writes it: magic, header dict padded with
/// spaces to a 64-byte boundary, little-endian data.
fn npy_f64(shape: &str, values: &[f64]) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    values.iter().for_each(|v| out.extend(v.to_le_bytes()));
    out
}

#[test]
fn statistics_read_from_numpy_npz_and_round_trip() {
    // A file laid out as numpy's `np.savez(path, mu=..., sigma=...)` writes it: an uncompressed
    // zip of `mu.npy` and `sigma.npy`.
    let dir = tempfile::tempdir().unwrap();
    let numpy = dir.path().join("numpy.npz");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&numpy).unwrap());
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let sigma = [2.0, 0.5, 0.0, 0.5, 1.0, 0.25, 0.0, 0.25, 3.0];
    for (name, shape, values) in [
        ("mu.npy", "(3,)", &[0.5, -1.0, 2.0][..]),
        ("sigma.npy", "(3, 3)", &sigma[..]),
    ] {
        zip.start_file(name, stored).unwrap();
        std::io::Write::write_all(&mut zip, &npy_f64(shape, values)).unwrap();
    }
    zip.finish().unwrap();
    let s = FeatureStats::load_npz(&numpy).unwrap();
    assert_eq!(s.mu, vec![0.5, -1.0, 2.0]);
    assert_eq!(s.sigma[(1, 2)], 0.25);
    assert_eq!(s.sigma[(2, 2)], 3.0);
    let path = dir.path().join("s.npz");
    s.save_npz(&path).unwrap();
    let back = FeatureStats::load_npz(&path).unwrap();
    assert_eq!(back.mu, s.mu);
    assert_eq!(back.sigma, s.sigma);
    let e = FeatureStats::load_npz(&dir.path().join("missing.npz")).unwrap_err();
    assert!(format!("{e:#}").contains("missing.npz"), "{e:#}");
}

#[test]
fn inception_score_of_uniform_confident_and_hand_computed_predictions() {
    let opts = IsOptions::default();
    let (is, std) = inception_score(&vec![0.3f32; 100 * 7], 7, opts).unwrap();
    assert!(
        (is - 1.0).abs() < 1e-12 && std.abs() < 1e-12,
        "{is} ± {std}"
    );
    // 100 samples, 10 classes, each split of 10 holding one confident sample per class: IS = 10.
    let logits: Vec<f32> = (0..100)
        .flat_map(|i| (0..10).map(move |k| if k == (i * 3) % 10 { 60.0 } else { 0.0 }))
        .collect();
    let (is, std) = inception_score(&logits, 10, opts).unwrap();
    assert!((is - 10.0).abs() < 1e-9 && std < 1e-9, "{is} ± {std}");
    // Two samples with p = (¾, ¼) and (¼, ¾): IS = exp(¾ ln 1.5 + ¼ ln 0.5).
    let l3 = 3f32.ln();
    let one = IsOptions {
        splits: 1,
        ..Default::default()
    };
    let (is, _) = inception_score(&[l3, 0.0, 0.0, l3], 2, one).unwrap();
    let want = (0.75 * 1.5f64.ln() + 0.25 * 0.5f64.ln()).exp();
    assert!((is - want).abs() < 1e-7, "{is} vs {want}");
    // A shuffle only moves rows between splits: with one split nothing changes.
    let seeded = IsOptions {
        splits: 1,
        shuffle_seed: Some(5),
        ..Default::default()
    };
    let (again, _) = inception_score(&[l3, 0.0, 0.0, l3], 2, seeded).unwrap();
    assert_eq!(is, again);
    assert!(inception_score(
        &logits,
        10,
        IsOptions {
            splits: 200,
            ..Default::default()
        }
    )
    .is_err());
    // torchmetrics (the paper's IS) takes the std over the splits with ddof 1: two splits of
    // scores 1 (uniform) and 2 (two confident classes) give 1.5 ± 0.5 with ddof 0, ± 0.5·√2.
    let two: Vec<f32> = [0.0f32, 0.0, 0.0, 0.0, 60.0, 0.0, 0.0, 60.0].to_vec();
    let split2 = IsOptions {
        splits: 2,
        ..Default::default()
    };
    let (m0, s0) = inception_score(&two, 2, split2).unwrap();
    let (m1, s1) = inception_score(&two, 2, IsOptions { ddof: 1, ..split2 }).unwrap();
    assert!(
        (m0 - 1.5).abs() < 1e-9 && (s0 - 0.5).abs() < 1e-9,
        "{m0} ± {s0}"
    );
    assert!(
        (m1 - 1.5).abs() < 1e-9 && (s1 - 0.5 * 2f64.sqrt()).abs() < 1e-9,
        "{s1}"
    );
    let paper = IsOptions::torchmetrics(0);
    assert_eq!((paper.splits, paper.ddof), (10, 1));
    assert_eq!(pbtnas_metrics::PAPER_IS_SAMPLES, 49_920);
}

#[test]
fn kernel_distance_by_hand_and_on_matching_and_shifted_sets() {
    // d = 1, a = {0, 1}, b = {2, 3}, k = (xy + 1)³: off-diagonal means 1 and 343, cross mean
    // 93/4, so MMD² = 1 + 343 − 2·93/4 = 297.5 for every subset (all samples each time).
    let opts = KidOptions {
        subsets: 5,
        subset_size: 2,
        seed: 1,
    };
    let (kid, std) = kernel_distance(&[0.0, 1.0], &[2.0, 3.0], 1, opts).unwrap();
    assert!((kid - 297.5).abs() < 1e-9 && std < 1e-9, "{kid} ± {std}");
    // Two halves of one set against the first half and a shifted copy of the second.
    let f = features(400, 8, 0.37, 1.3, 0.11);
    let (a, b) = f.split_at(200 * 8);
    let shifted: Vec<f32> = b.iter().map(|v| v + 0.5).collect();
    let opts = KidOptions {
        subsets: 20,
        subset_size: 100,
        seed: 2,
    };
    let (same, _) = kernel_distance(a, b, 8, opts).unwrap();
    let (other, _) = kernel_distance(a, &shifted, 8, opts).unwrap();
    assert!(other > 1.0, "{other}");
    assert!(same.abs() < 0.05 * other, "{same} vs {other}");
    let g = features(60, 8, 0.23, 0.7, 0.05);
    let e = kernel_distance(a, &g[..8 * 10], 8, opts).unwrap_err();
    assert!(e.to_string().contains("at least"), "{e}");
}

#[test]
fn tf1_resize_and_quantisation_on_small_cases() {
    // 2 → 4 on [a, b]: src = dst·2/4 → [a, (a+b)/2, b, b].
    let out = resize_bilinear_tf1(&[1.0, 3.0], 1, (1, 2), (1, 4));
    assert_eq!(out, vec![1.0, 2.0, 3.0, 3.0]);
    // 2×2 → 4×4, two channels; rows interpolate like columns.
    let img = [0.0, 4.0, 8.0, 12.0, 1.0, 1.0, 1.0, 1.0];
    let out = resize_bilinear_tf1(&img, 2, (2, 2), (4, 4));
    assert_eq!(&out[..4], &[0.0, 2.0, 4.0, 4.0]);
    assert_eq!(&out[4..8], &[4.0, 6.0, 8.0, 8.0]);
    assert_eq!(&out[12..16], &[8.0, 10.0, 12.0, 12.0]);
    assert!(out[16..].iter().all(|&v| v == 1.0));
    // 32 → 299: output 0 is source pixel 0; the same size is a copy.
    let ramp: Vec<f32> = (0..32 * 32).map(|i| i as f32).collect();
    let big = resize_bilinear_tf1(&ramp, 1, (32, 32), (299, 299));
    assert_eq!(big[0], 0.0);
    assert_eq!(resize_bilinear_tf1(&ramp, 1, (32, 32), (32, 32)), ramp);
    assert_eq!(
        [-1.0, 0.0, 0.999, 1.0, 1.5].map(quantize_u8),
        [0.0, 127.0, 254.0, 255.0, 255.0]
    );
}
