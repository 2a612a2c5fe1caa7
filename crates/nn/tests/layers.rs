//! Batch norm's running statistics and layer norm's rows, by hand-computed values.

use candle_core::{Device, Tensor, Var};
use pbtnas_nn::{batch_norm, layer_norm};

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
    }
}

#[test]
fn batch_norm_moves_the_running_statistics_as_pytorch() {
    let dev = &Device::Cpu;
    // Channel 0: 1, 2, 3, 4 (mean 2.5, variance 1.25 biased, 5/3 unbiased); channel 1: 0, 0, 2,
    // 2 (mean 1, variance 1 biased, 4/3 unbiased).
    let x = Tensor::new(&[1f32, 0., 2., 0., 3., 2., 4., 2.], dev)
        .unwrap()
        .reshape((4, 2, 1, 1))
        .unwrap();
    let (gamma, beta) = (
        Tensor::new(&[2f32, 1.], dev).unwrap(),
        Tensor::new(&[0f32, 1.], dev).unwrap(),
    );
    let rm = Var::new(&[0.5f32, -1.], dev).unwrap();
    let rv = Var::new(&[2f32, 1.], dev).unwrap();
    let y = batch_norm(&x, &gamma, &beta, &rm, &rv, true, 0.1, 0.0).unwrap();
    // running ← 0.9 · running + 0.1 · batch (the variance unbiased).
    assert_close(&values(&rm), &[0.9 * 0.5 + 0.1 * 2.5, -0.9 + 0.1 * 1.]);
    assert_close(
        &values(&rv),
        &[0.9 * 2. + 0.1 * 5. / 3., 0.9 * 1. + 0.1 * 4. / 3.],
    );
    // Training normalises by the batch's own statistics.
    let s = 1.25f32.sqrt();
    let want0 = [1., 2., 3., 4.].map(|v: f32| 2. * (v - 2.5) / s);
    let want1 = [0., 0., 2., 2.].map(|v: f32| v - 1. + 1.);
    let y = values(&y);
    assert_close(&[y[0], y[2], y[4], y[6]], &want0);
    assert_close(&[y[1], y[3], y[5], y[7]], &want1);
    // Evaluation uses the running statistics and leaves them be.
    let before = (values(&rm), values(&rv));
    let y = values(&batch_norm(&x, &gamma, &beta, &rm, &rv, false, 0.1, 0.0).unwrap());
    let (m, v) = (&before.0, &before.1);
    assert_close(
        &[y[0], y[1]],
        &[
            2. * (1. - m[0]) / v[0].sqrt(),
            (0. - m[1]) / v[1].sqrt() + 1.,
        ],
    );
    assert_eq!((values(&rm), values(&rv)), before);
}

#[test]
fn layer_norm_normalises_each_row() {
    let dev = &Device::Cpu;
    // Rows 1, 2, 3, 4 (mean 2.5, variance 1.25) and 0, 0, 2, 2 (mean 1, variance 1), twice.
    let x = Tensor::new(&[1f32, 2., 3., 4., 0., 0., 2., 2.], dev)
        .unwrap()
        .reshape((2, 1, 4))
        .unwrap();
    let gamma = Tensor::new(&[1f32, 2., 3., 4.], dev).unwrap();
    let beta = Tensor::new(&[0f32, 0., 0., 1.], dev).unwrap();
    let y = values(&layer_norm(&x, &gamma, &beta, 0.0).unwrap());
    let s = 1.25f32.sqrt();
    let want: Vec<f32> = [1f32, 2., 3., 4.]
        .iter()
        .enumerate()
        .map(|(j, v)| (v - 2.5) / s * (j + 1) as f32 + if j == 3 { 1. } else { 0. })
        .chain(
            [-1f32, -1., 1., 1.]
                .iter()
                .enumerate()
                .map(|(j, v)| v * (j + 1) as f32 + if j == 3 { 1. } else { 0. }),
        )
        .collect();
    assert_close(&y, &want);
}
