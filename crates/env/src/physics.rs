//! Rigid-body dynamics of small articulated systems (one or two joints) stepped the way MuJoCo
//! steps them: forward dynamics with joint damping, motors and soft joint limits solved as MuJoCo
//! solves a single constraint (solref/solimp, reference acceleration, unilateral force), then
//! either semi-implicit Euler with implicit damping (`(M + h·D) q̈ = f`) or classic RK4.

/// A soft joint limit with MuJoCo's `solref` (time constant, damping ratio) and `solimp`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub lo: f64,
    pub hi: f64,
    pub solref: [f64; 2],
    pub solimp: [f64; 5],
}

/// MuJoCo's default `solref` and `solimp`.
pub const DEFAULT_SOLREF: [f64; 2] = [0.02, 1.0];
pub const DEFAULT_SOLIMP: [f64; 5] = [0.9, 0.95, 0.001, 0.5, 2.0];

/// One degree of freedom: passive damping, motor gear, optional limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dof {
    pub damping: f64,
    pub gear: f64,
    pub limit: Option<Limit>,
}

/// How a model is integrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integrator {
    /// Semi-implicit Euler, damping implicit (MuJoCo's default).
    Euler,
    /// Classic 4th-order Runge-Kutta.
    Rk4,
}

/// The equations of motion of a model with `N` degrees of freedom.
pub trait Dynamics<const N: usize> {
    /// Joint-space inertia matrix M(q).
    fn mass(&self, q: &[f64; N]) -> [[f64; N]; N];
    /// Bias forces c(q, v) + g(q) (Coriolis, centrifugal, gravity), as MuJoCo's `qfrc_bias`.
    fn bias(&self, q: &[f64; N], v: &[f64; N]) -> [f64; N];
    /// Damping, gear and limit of every dof.
    fn dofs(&self) -> &[Dof; N];
    /// Physics time step and integrator.
    fn timestep(&self) -> f64;
    fn integrator(&self) -> Integrator;
}

fn solve<const N: usize>(m: [[f64; N]; N], b: [f64; N]) -> [f64; N] {
    // Gaussian elimination; N is 1 or 2 here and M is symmetric positive definite.
    let mut a = m;
    let mut x = b;
    for i in 0..N {
        for j in i + 1..N {
            let (f, ai) = (a[j][i] / a[i][i], a[i]);
            for (ajk, aik) in a[j][i..].iter_mut().zip(&ai[i..]) {
                *ajk -= f * aik;
            }
            x[j] -= f * x[i];
        }
    }
    for i in (0..N).rev() {
        for k in i + 1..N {
            x[i] -= a[i][k] * x[k];
        }
        x[i] /= a[i][i];
    }
    x
}

/// MuJoCo's impedance `d(r)` for a constraint violated by `r` (solimp = d0, dwidth, width, mid, power).
fn impedance(solimp: &[f64; 5], r: f64) -> f64 {
    let [d0, dwidth, width, mid, power] = *solimp;
    let x = (r.abs() / width).min(1.0);
    let y = if x >= 1.0 || power == 1.0 {
        x
    } else if x <= mid {
        x.powf(power) / mid.powf(power - 1.0)
    } else {
        1.0 - (1.0 - x).powf(power) / (1.0 - mid).powf(power - 1.0)
    };
    (d0 + y * (dwidth - d0)).clamp(1e-4, 0.9999)
}

/// Smooth forces (passive damping, motors, minus bias) and the constrained joint force.
fn forces<const N: usize, D: Dynamics<N>>(
    model: &D,
    q: &[f64; N],
    v: &[f64; N],
    ctrl: &[f64; N],
) -> ([[f64; N]; N], [f64; N]) {
    let m = model.mass(q);
    let bias = model.bias(q, v);
    let dofs = model.dofs();
    let mut f = [0.0; N];
    for i in 0..N {
        f[i] = dofs[i].gear * ctrl[i] - dofs[i].damping * v[i] - bias[i];
    }
    // Joint limits: each an independent unilateral constraint (the tasks here have at most one).
    let a0 = solve(m, f);
    let h = model.timestep();
    for i in 0..N {
        let Some(lim) = dofs[i].limit else { continue };
        let (pos, jac) = if q[i] - lim.lo < lim.hi - q[i] {
            (q[i] - lim.lo, 1.0)
        } else {
            (lim.hi - q[i], -1.0)
        };
        if pos >= 0.0 {
            continue;
        }
        let mut unit = [0.0; N];
        unit[i] = 1.0;
        let minv_col = solve(m, unit);
        let a_diag = minv_col[i];
        let imp = impedance(&lim.solimp, pos);
        let timeconst = lim.solref[0].max(2.0 * h);
        let dmax = lim.solimp[1];
        let b = 2.0 / (dmax * timeconst);
        let k = 1.0 / (dmax * dmax * timeconst * timeconst * lim.solref[1] * lim.solref[1]);
        let aref = -b * jac * v[i] - k * imp * pos;
        // MuJoCo regularises with the inverse weight at qpos0 (dof_invweight0), not the current one.
        let invweight0 = solve(model.mass(&[0.0; N]), unit)[i];
        let r = ((1.0 - imp) / imp * invweight0).max(1e-15);
        let force = (-(jac * a0[i] - aref) / (a_diag + r)).max(0.0);
        f[i] += jac * force;
    }
    (m, f)
}

/// Joint accelerations with explicit damping (what RK4 and MuJoCo's `mj_forward` use).
pub fn acceleration<const N: usize, D: Dynamics<N>>(
    model: &D,
    q: &[f64; N],
    v: &[f64; N],
    ctrl: &[f64; N],
) -> [f64; N] {
    let (m, f) = forces(model, q, v, ctrl);
    solve(m, f)
}

/// One physics step in place. Controls must already be clamped to the actuator range.
pub fn step<const N: usize, D: Dynamics<N>>(
    model: &D,
    q: &mut [f64; N],
    v: &mut [f64; N],
    ctrl: &[f64; N],
) {
    let h = model.timestep();
    match model.integrator() {
        Integrator::Euler => {
            let (mut m, f) = forces(model, q, v, ctrl);
            for (i, d) in model.dofs().iter().enumerate() {
                m[i][i] += h * d.damping;
            }
            let a = solve(m, f);
            for i in 0..N {
                v[i] += h * a[i];
                q[i] += h * v[i];
            }
        }
        Integrator::Rk4 => {
            let (q0, v0) = (*q, *v);
            let k1a = acceleration(model, &q0, &v0, ctrl);
            let at = |dt: f64, dq: &[f64; N], dv: &[f64; N]| -> ([f64; N], [f64; N]) {
                let mut qq = q0;
                let mut vv = v0;
                for i in 0..N {
                    qq[i] += dt * dq[i];
                    vv[i] += dt * dv[i];
                }
                (qq, vv)
            };
            let (q2, v2) = at(h / 2.0, &v0, &k1a);
            let k2a = acceleration(model, &q2, &v2, ctrl);
            let (q3, v3) = at(h / 2.0, &v2, &k2a);
            let k3a = acceleration(model, &q3, &v3, ctrl);
            let (q4, v4) = at(h, &v3, &k3a);
            let k4a = acceleration(model, &q4, &v4, ctrl);
            for i in 0..N {
                q[i] = q0[i] + h / 6.0 * (v0[i] + 2.0 * v2[i] + 2.0 * v3[i] + v4[i]);
                v[i] = v0[i] + h / 6.0 * (k1a[i] + 2.0 * k2a[i] + 2.0 * k3a[i] + k4a[i]);
            }
        }
    }
}
