//! `cartpole.xml` (one pole): cart mass 1 on a slider (±1.8, solreflimit .08 1, damping 5e-4),
//! capsule pole of mass .1 from the hinge to 1 m (damping 2e-6), motor gear 10, RK4 at 0.01 s.

use std::f64::consts::FRAC_PI_4;

use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};

use super::ControlTask;
use crate::physics::{self, Dof, Dynamics, Integrator, Limit, DEFAULT_SOLIMP};
use crate::render::{materials, quat_to_mat, rot_y, z_to, Camera, Geom, Scene, Shape, IDENTITY};
use crate::rewards::{tol, tolerance, Sigmoid};

const CART_MASS: f64 = 1.0;
const POLE_MASS: f64 = 0.1;
/// Hinge to pole centre of mass.
const POLE_COM: f64 = 0.5;
/// Pole inertia about its centre, across the pole (MuJoCo's value for the capsule).
const POLE_INERTIA: f64 = 0.0094245927672956;
const GRAVITY: f64 = 9.81;

struct Model {
    dofs: [Dof; 2],
}

impl Dynamics<2> for Model {
    fn mass(&self, q: &[f64; 2]) -> [[f64; 2]; 2] {
        let c = POLE_MASS * POLE_COM * q[1].cos();
        [
            [CART_MASS + POLE_MASS, c],
            [c, POLE_MASS * POLE_COM * POLE_COM + POLE_INERTIA],
        ]
    }
    fn bias(&self, q: &[f64; 2], v: &[f64; 2]) -> [f64; 2] {
        let s = q[1].sin();
        [
            -POLE_MASS * POLE_COM * s * v[1] * v[1],
            -POLE_MASS * GRAVITY * POLE_COM * s,
        ]
    }
    fn dofs(&self) -> &[Dof; 2] {
        &self.dofs
    }
    fn timestep(&self) -> f64 {
        0.01
    }
    fn integrator(&self) -> Integrator {
        Integrator::Rk4
    }
}

/// Cart-pole swing-up (pole starts down) or balance (pole starts up).
pub struct Cartpole {
    swing_up: bool,
    model: Model,
    q: [f64; 2],
    v: [f64; 2],
    ctrl: f64,
}

impl Cartpole {
    /// `swing_up`: DMC's `swingup` task, else `balance` (both with the smooth reward).
    pub fn new(swing_up: bool) -> Self {
        let slider = Dof {
            damping: 5e-4,
            gear: 10.0,
            limit: Some(Limit {
                lo: -1.8,
                hi: 1.8,
                solref: [0.08, 1.0],
                solimp: DEFAULT_SOLIMP,
            }),
        };
        let hinge = Dof {
            damping: 2e-6,
            gear: 0.0,
            limit: None,
        };
        Self {
            swing_up,
            model: Model {
                dofs: [slider, hinge],
            },
            q: [0.0; 2],
            v: [0.0; 2],
            ctrl: 0.0,
        }
    }
}

impl ControlTask for Cartpole {
    fn ctrl_range(&self) -> Vec<(f64, f64)> {
        vec![(-1.0, 1.0)]
    }

    fn initialize(&mut self, rng: &mut ChaCha8Rng) {
        let mut n = || -> f64 { StandardNormal.sample(rng) };
        if self.swing_up {
            self.q = [0.01 * n(), std::f64::consts::PI + 0.01 * n()];
        } else {
            let u = Uniform::new(-0.1, 0.1).expect("valid range");
            let w = Uniform::new(-0.034, 0.034).expect("valid range");
            self.q = [u.sample(rng), w.sample(rng)];
        }
        let mut n = || -> f64 { StandardNormal.sample(rng) };
        self.v = [0.01 * n(), 0.01 * n()];
        self.ctrl = 0.0;
    }

    fn step(&mut self, ctrl: &[f64]) {
        self.ctrl = ctrl[0];
        physics::step(&self.model, &mut self.q, &mut self.v, &[ctrl[0], 0.0]);
    }

    fn reward(&self) -> f64 {
        let upright = (self.q[1].cos() + 1.0) / 2.0;
        let centered = (1.0 + tol(self.q[0], (0.0, 0.0), 2.0)) / 2.0;
        let small_control =
            (4.0 + tolerance(self.ctrl, (0.0, 0.0), 1.0, Sigmoid::Quadratic, 0.0)) / 5.0;
        let small_velocity = (1.0 + tol(self.v[1], (0.0, 0.0), 5.0)) / 2.0;
        upright * small_control * small_velocity * centered
    }

    fn observation(&self) -> Vec<f32> {
        // position: cart x, pole xmat zz, xz; velocity: qvel
        [
            self.q[0],
            self.q[1].cos(),
            self.q[1].sin(),
            self.v[0],
            self.v[1],
        ]
        .map(|x| x as f32)
        .to_vec()
    }

    fn scene(&self) -> Scene {
        let rail = |y: f64| Geom {
            shape: Shape::Capsule {
                radius: 0.02,
                half_length: 2.0,
            },
            pos: [0.0, y, 1.0],
            rot: z_to([1.0, 0.0, 0.0]),
            material: materials::DECORATION,
            casts_shadow: true,
        };
        let pole_rot = rot_y(self.q[1]);
        let pole_centre = crate::render::rotate(&pole_rot, [0.0, 0.0, 0.5]);
        Scene {
            geoms: vec![
                Geom {
                    shape: Shape::Plane {
                        half_x: 4.0,
                        half_y: 4.0,
                    },
                    pos: [0.0, 0.0, -0.05],
                    rot: IDENTITY,
                    material: materials::GRID,
                    casts_shadow: false,
                },
                rail(0.07),
                rail(-0.07),
                Geom {
                    shape: Shape::Box {
                        half: [0.2, 0.15, 0.1],
                    },
                    pos: [self.q[0], 0.0, 1.0],
                    rot: IDENTITY,
                    material: materials::SELF,
                    casts_shadow: true,
                },
                Geom {
                    shape: Shape::Capsule {
                        radius: 0.045,
                        half_length: 0.5,
                    },
                    pos: [
                        self.q[0] + pole_centre[0],
                        pole_centre[1],
                        1.0 + pole_centre[2],
                    ],
                    rot: pole_rot,
                    material: materials::SELF,
                    casts_shadow: true,
                },
            ],
            camera: Camera {
                pos: [0.0, -4.0, 1.0],
                // A quarter turn about x: (cos π/4, sin π/4, 0, 0).
                rot: quat_to_mat([FRAC_PI_4.cos(), FRAC_PI_4.sin(), 0.0, 0.0]),
                fovy: 45.0,
            },
            light: [0.0, 0.0, 6.0],
        }
    }

    fn state(&self) -> (Vec<f64>, Vec<f64>) {
        (self.q.to_vec(), self.v.to_vec())
    }

    fn set_state(&mut self, qpos: &[f64], qvel: &[f64]) {
        self.q.copy_from_slice(qpos);
        self.v.copy_from_slice(qvel);
    }
}
