//! `reacher.xml`: a planar two-link arm (capsules .12 and .1 m, radius .01, density 1000; a
//! finger sphere at .12 m on the second link), joint damping .01, motor gear .05, wrist limited
//! to ±160°, Euler with implicit damping at 0.02 s. Masses and inertias as MuJoCo compiles them.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::ControlTask;
use crate::physics::{self, Dof, Dynamics, Integrator, Limit, DEFAULT_SOLIMP, DEFAULT_SOLREF};
use crate::render::{
    mat_mul, materials, rot_z, rotate, z_to, Camera, Geom, Scene, Shape, IDENTITY,
};
use crate::rewards::tol;

const L1: f64 = 0.12;
const ARM: (f64, f64, f64) = (0.04188790204786391, 0.06, 6.331_356_394_534_63e-5);
/// Bodies carried by the wrist: (mass, distance from the wrist, inertia about z at the COM).
const DISTAL: [(f64, f64, f64); 2] = [
    (0.03560471674068432, 0.05, 3.9175660390264734e-05),
    (0.00418879020478639, 0.12, 1.6755160819145565e-07),
];
const FINGER_SIZE: f64 = 0.01;

struct Model {
    dofs: [Dof; 2],
}

impl Dynamics<2> for Model {
    fn mass(&self, q: &[f64; 2]) -> [[f64; 2]; 2] {
        let c = q[1].cos();
        let (m1, c1, i1) = ARM;
        let mut m = [[i1 + m1 * c1 * c1, 0.0], [0.0, 0.0]];
        for (mb, r, ib) in DISTAL {
            m[0][0] += ib + mb * (L1 * L1 + r * r + 2.0 * L1 * r * c);
            m[0][1] += ib + mb * (r * r + L1 * r * c);
            m[1][1] += ib + mb * r * r;
        }
        m[1][0] = m[0][1];
        m
    }
    fn bias(&self, q: &[f64; 2], v: &[f64; 2]) -> [f64; 2] {
        let h: f64 = DISTAL.iter().map(|(mb, r, _)| mb * L1 * r).sum::<f64>() * q[1].sin();
        [-h * (2.0 * v[0] * v[1] + v[1] * v[1]), h * v[0] * v[0]]
    }
    fn dofs(&self) -> &[Dof; 2] {
        &self.dofs
    }
    fn timestep(&self) -> f64 {
        0.02
    }
    fn integrator(&self) -> Integrator {
        Integrator::Euler
    }
}

/// Reacher: touch a randomly placed target with the finger (sparse reward).
pub struct Reacher {
    target_size: f64,
    model: Model,
    q: [f64; 2],
    v: [f64; 2],
    target: [f64; 2],
}

impl Reacher {
    /// `target_size` .05 is DMC's `easy`, .015 its `hard`.
    pub fn new(target_size: f64) -> Self {
        let wrist_range = 160f64.to_radians();
        let shoulder = Dof {
            damping: 0.01,
            gear: 0.05,
            limit: None,
        };
        let wrist = Dof {
            damping: 0.01,
            gear: 0.05,
            limit: Some(Limit {
                lo: -wrist_range,
                hi: wrist_range,
                solref: DEFAULT_SOLREF,
                solimp: DEFAULT_SOLIMP,
            }),
        };
        Self {
            target_size,
            model: Model {
                dofs: [shoulder, wrist],
            },
            q: [0.0; 2],
            v: [0.0; 2],
            target: [0.0; 2],
        }
    }

    fn finger(&self) -> [f64; 2] {
        let (a, b) = (self.q[0], self.q[0] + self.q[1]);
        [L1 * a.cos() + 0.12 * b.cos(), L1 * a.sin() + 0.12 * b.sin()]
    }

    /// Distance from the finger to the target in the plane.
    pub fn finger_to_target_dist(&self) -> f64 {
        let f = self.finger();
        ((self.target[0] - f[0]).powi(2) + (self.target[1] - f[1]).powi(2)).sqrt()
    }

    /// Places the target (for tests and replays).
    pub fn set_target(&mut self, xy: [f64; 2]) {
        self.target = xy;
    }
}

impl ControlTask for Reacher {
    fn ctrl_range(&self) -> Vec<(f64, f64)> {
        vec![(-1.0, 1.0); 2]
    }

    fn initialize(&mut self, rng: &mut ChaCha8Rng) {
        let pi = std::f64::consts::PI;
        let wrist = 160f64.to_radians();
        self.q = [rng.random_range(-pi..pi), rng.random_range(-wrist..wrist)];
        self.v = [0.0; 2];
        let angle = rng.random_range(0.0..2.0 * pi);
        let radius = rng.random_range(0.05..0.20);
        self.target = [radius * angle.sin(), radius * angle.cos()];
    }

    fn step(&mut self, ctrl: &[f64]) {
        physics::step(&self.model, &mut self.q, &mut self.v, &[ctrl[0], ctrl[1]]);
    }

    fn reward(&self) -> f64 {
        tol(
            self.finger_to_target_dist(),
            (0.0, self.target_size + FINGER_SIZE),
            0.0,
        )
    }

    fn observation(&self) -> Vec<f32> {
        let f = self.finger();
        [
            self.q[0],
            self.q[1],
            self.target[0] - f[0],
            self.target[1] - f[1],
            self.v[0],
            self.v[1],
        ]
        .map(|x| x as f32)
        .to_vec()
    }

    fn scene(&self) -> Scene {
        let r1 = rot_z(self.q[0]);
        let r2 = mat_mul(&r1, &rot_z(self.q[1]));
        let along = z_to([1.0, 0.0, 0.0]);
        let wrist = rotate(&r1, [L1, 0.0, 0.0]);
        let link = |rot: &[f64; 9], origin: [f64; 3], len: f64| Geom {
            shape: Shape::Capsule {
                radius: 0.01,
                half_length: len / 2.0,
            },
            pos: {
                let p = rotate(rot, [len / 2.0, 0.0, 0.0]);
                [origin[0] + p[0], origin[1] + p[1], 0.01]
            },
            rot: mat_mul(rot, &along),
            material: materials::SELF,
            casts_shadow: true,
        };
        let f = self.finger();
        let sphere = |pos: [f64; 3], radius: f64, material| Geom {
            shape: Shape::Sphere { radius },
            pos,
            rot: IDENTITY,
            material,
            casts_shadow: true,
        };
        Scene {
            geoms: vec![
                Geom {
                    shape: Shape::Plane {
                        half_x: 0.3,
                        half_y: 0.3,
                    },
                    pos: [0.0; 3],
                    rot: IDENTITY,
                    material: materials::GRID,
                    casts_shadow: false,
                },
                Geom {
                    shape: Shape::Cylinder {
                        radius: 0.011,
                        half_length: 0.01,
                    },
                    pos: [0.0, 0.0, 0.01],
                    rot: IDENTITY,
                    material: materials::DECORATION,
                    casts_shadow: true,
                },
                link(&r1, [0.0; 3], L1),
                link(&r2, wrist, 0.1),
                sphere([f[0], f[1], 0.01], FINGER_SIZE, materials::EFFECTOR),
                sphere(
                    [self.target[0], self.target[1], 0.01],
                    self.target_size,
                    materials::TARGET,
                ),
            ],
            camera: Camera {
                pos: [0.0, 0.0, 0.75],
                rot: IDENTITY,
                fovy: 45.0,
            },
            light: [0.0, 0.0, 1.0],
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
