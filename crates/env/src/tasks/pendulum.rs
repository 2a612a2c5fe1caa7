//! `pendulum.xml`: one hinge (damping 0.1, motor gear 1) carrying a 1 kg sphere (radius .05) at
//! 0.5 m on a massless pole; Euler with implicit damping at 0.02 s.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::ControlTask;
use crate::physics::{self, Dof, Dynamics, Integrator};
use crate::render::{
    materials, quat_to_mat, rot_y, rotate, z_to, Camera, Geom, Scene, Shape, IDENTITY,
};
use crate::rewards::tol;

const MASS: f64 = 1.0;
const ARM: f64 = 0.5;
/// Sphere inertia 2/5·m·r² plus m·l² about the hinge.
const INERTIA: f64 = 0.001 + MASS * ARM * ARM;
const GRAVITY: f64 = 9.81;

struct Model {
    dofs: [Dof; 1],
}

impl Dynamics<1> for Model {
    fn mass(&self, _q: &[f64; 1]) -> [[f64; 1]; 1] {
        [[INERTIA]]
    }
    fn bias(&self, q: &[f64; 1], _v: &[f64; 1]) -> [f64; 1] {
        [-MASS * GRAVITY * ARM * q[0].sin()]
    }
    fn dofs(&self) -> &[Dof; 1] {
        &self.dofs
    }
    fn timestep(&self) -> f64 {
        0.02
    }
    fn integrator(&self) -> Integrator {
        Integrator::Euler
    }
}

/// Pendulum swing-up: sparse reward within 8° of upright.
pub struct Pendulum {
    model: Model,
    q: [f64; 1],
    v: [f64; 1],
}

impl Default for Pendulum {
    fn default() -> Self {
        Self {
            model: Model {
                dofs: [Dof {
                    damping: 0.1,
                    gear: 1.0,
                    limit: None,
                }],
            },
            q: [0.0],
            v: [0.0],
        }
    }
}

impl ControlTask for Pendulum {
    fn ctrl_range(&self) -> Vec<(f64, f64)> {
        vec![(-1.0, 1.0)]
    }

    fn initialize(&mut self, rng: &mut ChaCha8Rng) {
        self.q = [rng.random_range(-std::f64::consts::PI..std::f64::consts::PI)];
        self.v = [0.0];
    }

    fn step(&mut self, ctrl: &[f64]) {
        physics::step(&self.model, &mut self.q, &mut self.v, &[ctrl[0]]);
    }

    fn reward(&self) -> f64 {
        tol(self.q[0].cos(), (8f64.to_radians().cos(), 1.0), 0.0)
    }

    fn observation(&self) -> Vec<f32> {
        // orientation: xmat zz, xz; velocity
        [self.q[0].cos(), self.q[0].sin(), self.v[0]]
            .map(|x| x as f32)
            .to_vec()
    }

    fn scene(&self) -> Scene {
        let r = rot_y(self.q[0]);
        let at = |local: [f64; 3]| {
            let p = rotate(&r, local);
            [p[0], p[1], 0.6 + p[2]]
        };
        Scene {
            geoms: vec![
                Geom {
                    shape: Shape::Plane {
                        half_x: 2.0,
                        half_y: 2.0,
                    },
                    pos: [0.0; 3],
                    rot: IDENTITY,
                    material: materials::GRID,
                    casts_shadow: false,
                },
                Geom {
                    shape: Shape::Cylinder {
                        radius: 0.021,
                        half_length: 0.03,
                    },
                    pos: at([0.0; 3]),
                    rot: crate::render::mat_mul(&r, &z_to([0.0, 1.0, 0.0])),
                    material: materials::DECORATION,
                    casts_shadow: true,
                },
                Geom {
                    shape: Shape::Capsule {
                        radius: 0.02,
                        half_length: 0.25,
                    },
                    pos: at([0.0, 0.0, 0.25]),
                    rot: r,
                    material: materials::SELF,
                    casts_shadow: true,
                },
                Geom {
                    shape: Shape::Sphere { radius: 0.05 },
                    pos: at([0.0, 0.0, 0.5]),
                    rot: r,
                    material: materials::EFFECTOR,
                    casts_shadow: true,
                },
            ],
            camera: Camera {
                pos: [0.0, -1.5, 2.0],
                rot: quat_to_mat([0.9238795325112867, 0.3826834323650897, 0.0, 0.0]),
                fovy: 45.0,
            },
            light: [0.0, 0.0, 2.0],
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
