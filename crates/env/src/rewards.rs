//! `dm_control.utils.rewards.tolerance`, exactly as dm_control 1.0.50 defines it.

/// The shape of the fall-off outside the bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sigmoid {
    Gaussian,
    Linear,
    Quadratic,
    Hyperbolic,
    LongTail,
    Reciprocal,
    Cosine,
    TanhSquared,
}

/// 1 inside `[lo, hi]`; outside, `sigmoid(d, value_at_margin)` with `d` the distance in margins
/// (0 when `margin == 0`). `value_at_margin` is the value at one margin.
pub fn tolerance(
    x: f64,
    bounds: (f64, f64),
    margin: f64,
    sigmoid: Sigmoid,
    value_at_margin: f64,
) -> f64 {
    let (lo, hi) = bounds;
    assert!(
        lo <= hi && margin >= 0.0,
        "tolerance: lo <= hi and margin >= 0"
    );
    if (lo..=hi).contains(&x) {
        return 1.0;
    }
    if margin == 0.0 {
        return 0.0;
    }
    let d = if x < lo {
        (lo - x) / margin
    } else {
        (x - hi) / margin
    };
    let v = value_at_margin;
    match sigmoid {
        Sigmoid::Gaussian => {
            let s = (-2.0 * v.ln()).sqrt();
            (-0.5 * (d * s).powi(2)).exp()
        }
        Sigmoid::Linear => {
            let sd = d * (1.0 - v);
            if sd.abs() < 1.0 {
                1.0 - sd
            } else {
                0.0
            }
        }
        Sigmoid::Quadratic => {
            let sd = d * (1.0 - v).sqrt();
            if sd.abs() < 1.0 {
                1.0 - sd * sd
            } else {
                0.0
            }
        }
        Sigmoid::Hyperbolic => 1.0 / (d * (1.0 / v).acosh()).cosh(),
        Sigmoid::LongTail => 1.0 / ((d * (1.0 / v - 1.0).sqrt()).powi(2) + 1.0),
        Sigmoid::Reciprocal => 1.0 / (d.abs() * (1.0 / v - 1.0) + 1.0),
        Sigmoid::Cosine => {
            let sd = d * (2.0 * v - 1.0).acos() / std::f64::consts::PI;
            if sd.abs() < 1.0 {
                (1.0 + (std::f64::consts::PI * sd).cos()) / 2.0
            } else {
                0.0
            }
        }
        Sigmoid::TanhSquared => 1.0 - (d * (1.0 - v).sqrt().atanh()).tanh().powi(2),
    }
}

/// `tolerance` with dm_control's defaults for the sigmoid (gaussian) and value at margin (0.1).
pub fn tol(x: f64, bounds: (f64, f64), margin: f64) -> f64 {
    tolerance(x, bounds, margin, Sigmoid::Gaussian, 0.1)
}
