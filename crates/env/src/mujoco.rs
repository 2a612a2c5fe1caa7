//! The real DeepMind Control tasks through MuJoCo 3.17 (`mujoco-rs =7.0.0`, feature `mujoco`):
//! dm_control 1.0.50's XMLs (quadruped edited as dm_control edits it, see
//! `scripts/setup/mujoco.sh`), its initialisation, legacy step order and rewards. Frames come from
//! the crate's ray caster, fed with MuJoCo's geom poses.

use std::path::{Path, PathBuf};

use mujoco_rs::mujoco_c::mjModel;
use mujoco_rs::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::env::EnvError;
use crate::render::{materials, Camera, Geom, Material, Scene, Shape};
use crate::rewards::{tol, tolerance, Sigmoid};
use crate::tasks::ControlTask;

/// The MuJoCo-backed task names (prefixed `dmc/` to tell them from the embedded ones).
pub const MUJOCO_TASKS: [&str; 11] = [
    "dmc/walker_stand",
    "dmc/walker_walk",
    "dmc/walker_run",
    "dmc/quadruped_walk",
    "dmc/quadruped_run",
    "dmc/humanoid_stand",
    "dmc/humanoid_walk",
    "dmc/humanoid_run",
    "dmc/cheetah_run",
    "dmc/cartpole_swingup",
    "dmc/reacher_easy",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Walker(f64),
    Quadruped(f64),
    Humanoid(f64),
    Cheetah,
    CartpoleSwingup,
    ReacherEasy,
}

/// Where the suite XMLs are: `PBTNAS_DMC_DIR`, else `third_party/dmc` of this repository.
pub fn suite_dir() -> PathBuf {
    std::env::var_os("PBTNAS_DMC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../third_party/dmc"))
}

/// A DMC task on MuJoCo.
pub struct MjTask {
    kind: Kind,
    /// MuJoCo's own OpenGL renderer (EGL), when selected; created on first use.
    #[cfg(feature = "mujoco-gl")]
    gl: Option<(usize, usize, mujoco_rs::renderer::MjRenderer)>,
    #[cfg(feature = "mujoco-gl")]
    use_gl: bool,
    data: MjData<Box<MjModel>>,
    n_sub_steps: usize,
    camera: usize,
    torso: usize,
    head: usize,
    speed_sensor: usize,
}

// SAFETY: MjData owns its model and mjData; nothing is shared between threads.
unsafe impl Send for MjTask {}

fn raw(m: &MjModel) -> &mjModel {
    m.ffi()
}

/// A slice over a MuJoCo array of `n` elements.
fn arr<'a, T>(p: *const T, n: usize) -> &'a [T] {
    if n == 0 {
        return &[];
    }
    // SAFETY: MuJoCo allocates each model array with the length its size field gives.
    unsafe { std::slice::from_raw_parts(p, n) }
}

impl MjTask {
    /// Loads a task of [`MUJOCO_TASKS`].
    pub fn new(name: &str) -> Result<Self, EnvError> {
        let unknown = || EnvError::UnknownTask(name.into(), MUJOCO_TASKS.join(", "));
        let short = name.strip_prefix("dmc/").ok_or_else(unknown)?;
        let (kind, file, control_dt, camera) = match short {
            "walker_stand" => (Kind::Walker(0.0), "walker.xml", 0.025, 0),
            "walker_walk" => (Kind::Walker(1.0), "walker.xml", 0.025, 0),
            "walker_run" => (Kind::Walker(8.0), "walker.xml", 0.025, 0),
            "quadruped_walk" => (Kind::Quadruped(0.5), "quadruped_walk.xml", 0.02, 2),
            "quadruped_run" => (Kind::Quadruped(5.0), "quadruped_run.xml", 0.02, 2),
            "humanoid_stand" => (Kind::Humanoid(0.0), "humanoid.xml", 0.025, 0),
            "humanoid_walk" => (Kind::Humanoid(1.0), "humanoid.xml", 0.025, 0),
            "humanoid_run" => (Kind::Humanoid(10.0), "humanoid.xml", 0.025, 0),
            "cheetah_run" => (Kind::Cheetah, "cheetah.xml", 0.0, 0),
            "cartpole_swingup" => (Kind::CartpoleSwingup, "cartpole.xml", 0.0, 0),
            "reacher_easy" => (Kind::ReacherEasy, "reacher.xml", 0.0, 0),
            _ => return Err(unknown()),
        };
        let path = suite_dir().join(file);
        let model = MjModel::from_xml(&path).map_err(|e| {
            EnvError::Backend(format!(
                "cannot load {} ({e:?}); run scripts/setup/mujoco.sh or set PBTNAS_DMC_DIR",
                path.display()
            ))
        })?;
        let timestep = raw(&model).opt.timestep;
        let n_sub_steps = if control_dt == 0.0 {
            1
        } else {
            (control_dt / timestep).round() as usize
        };
        let id = |t, n: &str| model.name_to_id(t, n).unwrap_or(0);
        let torso = id(MjtObjBase::mjOBJ_BODY, "torso");
        let head = id(MjtObjBase::mjOBJ_BODY, "head");
        let sensor = if matches!(kind, Kind::Quadruped(_)) {
            "velocimeter"
        } else {
            "torso_subtreelinvel"
        };
        let speed_sensor = model
            .name_to_id(MjtObjBase::mjOBJ_SENSOR, sensor)
            .map(|s| arr(raw(&model).sensor_adr, raw(&model).nsensor as usize)[s] as usize)
            .unwrap_or(0);
        Ok(Self {
            kind,
            #[cfg(feature = "mujoco-gl")]
            gl: None,
            #[cfg(feature = "mujoco-gl")]
            use_gl: false,
            data: MjData::new(Box::new(model)),
            n_sub_steps,
            camera,
            torso,
            head,
            speed_sensor,
        })
    }

    fn m(&self) -> &mjModel {
        raw(self.data.model())
    }

    /// dm_control's `randomize_limited_and_rotational_joints`.
    fn randomize_joints(&mut self, rng: &mut ChaCha8Rng) {
        let m = self.m();
        let nj = m.njnt as usize;
        let types: Vec<i32> = arr(m.jnt_type, nj).to_vec();
        let limited: Vec<bool> = arr(m.jnt_limited, nj).to_vec();
        let range: Vec<f64> = arr(m.jnt_range, 2 * nj).to_vec();
        let adr: Vec<i32> = arr(m.jnt_qposadr, nj).to_vec();
        let qpos = self.data.qpos_mut();
        let pi = std::f64::consts::PI;
        for j in 0..nj {
            let a = adr[j] as usize;
            let (lo, hi) = (range[2 * j], range[2 * j + 1]);
            match types[j] {
                // hinge, slide
                3 | 2 if limited[j] => qpos[a] = rng.random_range(lo..hi),
                3 => qpos[a] = rng.random_range(-pi..pi),
                // free: random orientation, position unchanged
                0 => qpos[a + 3..a + 7].copy_from_slice(&random_quat(rng)),
                // ball (unlimited in these models)
                1 => qpos[a..a + 4].copy_from_slice(&random_quat(rng)),
                _ => {}
            }
        }
    }

    fn legacy_step(&mut self, n: usize) {
        let rk4 = self.m().opt.integrator == 1;
        if rk4 {
            for _ in 0..n {
                self.data.step();
            }
        } else {
            self.data.step2();
            for _ in 1..n {
                self.data.step();
            }
        }
        self.data.step1();
    }

    fn zz(&self, body: usize) -> f64 {
        self.data.xmat()[body][8]
    }

    fn speed(&self) -> &[f64] {
        &self.data.sensordata()[self.speed_sensor..self.speed_sensor + 3]
    }

    /// Sets the warm start of the constraint solver (replaying recorded states bit for bit).
    pub fn set_warmstart(&mut self, qacc: &[f64]) {
        self.data.qacc_warmstart_mut().copy_from_slice(qacc);
    }
}

fn random_quat(rng: &mut ChaCha8Rng) -> [f64; 4] {
    let mut q: [f64; 4] = std::array::from_fn(|_| StandardNormal.sample(rng));
    let n = q.iter().map(|x| x * x).sum::<f64>().sqrt();
    q.iter_mut().for_each(|x| *x /= n);
    q
}

impl ControlTask for MjTask {
    fn ctrl_range(&self) -> Vec<(f64, f64)> {
        let m = self.m();
        arr(m.actuator_ctrlrange, 2 * m.nu as usize)
            .chunks(2)
            .map(|r| (r[0], r[1]))
            .collect()
    }

    fn initialize(&mut self, rng: &mut ChaCha8Rng) {
        self.data.reset();
        match self.kind {
            Kind::Walker(_) => self.randomize_joints(rng),
            Kind::Humanoid(_) => loop {
                self.randomize_joints(rng);
                self.data.forward();
                if self.data.ncon() == 0 {
                    break;
                }
            },
            Kind::Quadruped(_) => {
                let orientation = random_quat(rng);
                let mut z = 0.0;
                loop {
                    self.data.reset();
                    let q = self.data.qpos_mut();
                    q[..3].copy_from_slice(&[0.0, 0.0, z]);
                    q[3..7].copy_from_slice(&orientation);
                    self.data.forward();
                    if self.data.ncon() == 0 {
                        break;
                    }
                    z += 0.01;
                }
            }
            Kind::Cheetah => {
                let m = self.m();
                let nj = m.njnt as usize;
                let limited: Vec<bool> = arr(m.jnt_limited, nj).to_vec();
                let range: Vec<f64> = arr(m.jnt_range, 2 * nj).to_vec();
                for j in (0..nj).filter(|&j| limited[j]) {
                    self.data.qpos_mut()[j] = rng.random_range(range[2 * j]..range[2 * j + 1]);
                }
                self.legacy_step(200);
                // SAFETY: plain field write on the data this task owns.
                unsafe { self.data.ffi_mut().time = 0.0 };
            }
            Kind::CartpoleSwingup => {
                let mut n = || -> f64 { StandardNormal.sample(rng) };
                let q = [0.01 * n(), std::f64::consts::PI + 0.01 * n()];
                let v = [0.01 * n(), 0.01 * n()];
                self.data.qpos_mut().copy_from_slice(&q);
                self.data.qvel_mut().copy_from_slice(&v);
            }
            Kind::ReacherEasy => {
                self.randomize_joints(rng);
                let angle = rng.random_range(0.0..2.0 * std::f64::consts::PI);
                let radius = rng.random_range(0.05..0.20);
                self.set_target([radius * angle.sin(), radius * angle.cos()]);
            }
        }
        self.data.forward();
    }

    fn step(&mut self, ctrl: &[f64]) {
        self.data.ctrl_mut().copy_from_slice(ctrl);
        self.legacy_step(self.n_sub_steps);
    }

    fn reward(&self) -> f64 {
        let lin = |x, lo, margin, v| tolerance(x, (lo, f64::INFINITY), margin, Sigmoid::Linear, v);
        match self.kind {
            Kind::Walker(speed) => {
                let standing = tol(self.data.xpos()[self.torso][2], (1.2, f64::INFINITY), 0.6);
                let upright = (1.0 + self.zz(self.torso)) / 2.0;
                let stand = (3.0 * standing + upright) / 4.0;
                if speed == 0.0 {
                    return stand;
                }
                stand * (5.0 * lin(self.speed()[0], speed, speed / 2.0, 0.5) + 1.0) / 6.0
            }
            Kind::Quadruped(speed) => {
                lin(self.zz(self.torso), 1.0, 2.0, 0.0) * lin(self.speed()[0], speed, speed, 0.5)
            }
            Kind::Humanoid(speed) => {
                let standing = tol(self.data.xpos()[self.head][2], (1.4, f64::INFINITY), 0.35);
                let upright = lin(self.zz(self.torso), 0.9, 1.9, 0.0);
                let ctrl = self.data.ctrl();
                let small = ctrl
                    .iter()
                    .map(|&u| tolerance(u, (0.0, 0.0), 1.0, Sigmoid::Quadratic, 0.0))
                    .sum::<f64>()
                    / ctrl.len() as f64;
                let small_control = (4.0 + small) / 5.0;
                let v = self.speed();
                if speed == 0.0 {
                    let dont_move = (tol(v[0], (0.0, 0.0), 2.0) + tol(v[1], (0.0, 0.0), 2.0)) / 2.0;
                    return small_control * standing * upright * dont_move;
                }
                let com = (v[0] * v[0] + v[1] * v[1]).sqrt();
                let moving = (5.0 * lin(com, speed, speed, 0.0) + 1.0) / 6.0;
                small_control * standing * upright * moving
            }
            Kind::Cheetah => lin(self.speed()[0], 10.0, 10.0, 0.0),
            Kind::CartpoleSwingup => {
                let q = self.data.qpos();
                let v = self.data.qvel();
                let upright = (self.zz(2) + 1.0) / 2.0;
                let centered = (1.0 + tol(q[0], (0.0, 0.0), 2.0)) / 2.0;
                let small_control =
                    (4.0 + tolerance(
                        self.data.ctrl()[0],
                        (0.0, 0.0),
                        1.0,
                        Sigmoid::Quadratic,
                        0.0,
                    )) / 5.0;
                let small_velocity = (1.0 + tol(v[1], (0.0, 0.0), 5.0)) / 2.0;
                upright * small_control * small_velocity * centered
            }
            Kind::ReacherEasy => {
                let g = |n: &str| {
                    self.data
                        .model()
                        .name_to_id(MjtObjBase::mjOBJ_GEOM, n)
                        .expect("reacher geom")
                };
                let (t, f) = (
                    self.data.geom_xpos()[g("target")],
                    self.data.geom_xpos()[g("finger")],
                );
                let d = ((t[0] - f[0]).powi(2) + (t[1] - f[1]).powi(2)).sqrt();
                let size = arr(self.m().geom_size, 3 * self.m().ngeom as usize);
                tol(d, (0.0, size[3 * g("target")] + size[3 * g("finger")]), 0.0)
            }
        }
    }

    fn observation(&self) -> Vec<f32> {
        // DrQ-v2 learns from pixels; the state vector is positions then velocities.
        self.data
            .qpos()
            .iter()
            .chain(self.data.qvel())
            .map(|&x| x as f32)
            .collect()
    }

    fn scene(&self) -> Scene {
        let m = self.m();
        let ng = m.ngeom as usize;
        let types = arr(m.geom_type, ng);
        let sizes = arr(m.geom_size, 3 * ng);
        let groups = arr(m.geom_group, ng);
        let matid = arr(m.geom_matid, ng);
        let geom_rgba = arr(m.geom_rgba, 4 * ng);
        let mat_rgba = arr(m.mat_rgba, 4 * m.nmat as usize);
        let (xpos, xmat) = (self.data.geom_xpos(), self.data.geom_xmat());
        let mut geoms = Vec::new();
        for g in 0..ng {
            if groups[g] >= 3 {
                continue;
            }
            let s = &sizes[3 * g..3 * g + 3];
            let shape = match types[g] {
                0 => Shape::Plane {
                    half_x: s[0],
                    half_y: s[1],
                },
                2 => Shape::Sphere { radius: s[0] },
                3 => Shape::Capsule {
                    radius: s[0],
                    half_length: s[1],
                },
                4 => Shape::Ellipsoid {
                    radii: [s[0], s[1], s[2]],
                },
                5 => Shape::Cylinder {
                    radius: s[0],
                    half_length: s[1],
                },
                6 => Shape::Box {
                    half: [s[0], s[1], s[2]],
                },
                _ => continue,
            };
            let grid = matid[g] >= 0
                && self
                    .data
                    .model()
                    .id_to_name(MjtObjBase::mjOBJ_MATERIAL, matid[g] as usize)
                    == Some("grid");
            let rgba = if matid[g] >= 0 {
                &mat_rgba[4 * matid[g] as usize..][..4]
            } else {
                &geom_rgba[4 * g..][..4]
            };
            if rgba[3] == 0.0 {
                continue;
            }
            let material = if grid {
                materials::GRID
            } else {
                Material::Rgb([rgba[0], rgba[1], rgba[2]])
            };
            geoms.push(Geom {
                shape,
                pos: xpos[g],
                rot: xmat[g],
                material,
                casts_shadow: types[g] != 0,
            });
        }
        let fovy = arr(m.cam_fovy, m.ncam as usize)[self.camera];
        let light = self
            .data
            .light_xpos()
            .first()
            .copied()
            .unwrap_or([0.0, 0.0, 5.0]);
        Scene {
            geoms,
            camera: Camera {
                pos: self.data.cam_xpos()[self.camera],
                rot: self.data.cam_xmat()[self.camera],
                fovy,
            },
            light,
        }
    }

    #[cfg(feature = "mujoco-gl")]
    fn frame(&mut self, width: usize, height: usize) -> crate::render::Image {
        if !self.use_gl {
            return crate::render::render(&self.scene(), width, height);
        }
        self.gl_frame(width, height)
            .unwrap_or_else(|e| panic!("MuJoCo renderer: {e}"))
    }

    #[cfg(feature = "mujoco-gl")]
    fn renderer(&self) -> &'static str {
        if self.use_gl {
            "mujoco-egl"
        } else {
            "raycast"
        }
    }

    fn set_camera(&mut self, id: usize) -> Result<(), EnvError> {
        let n = self.m().ncam as usize;
        if id >= n {
            return Err(EnvError::Backend(format!(
                "camera {id}: the model has {n} cameras"
            )));
        }
        self.camera = id;
        #[cfg(feature = "mujoco-gl")]
        {
            self.gl = None;
        }
        Ok(())
    }

    fn state(&self) -> (Vec<f64>, Vec<f64>) {
        (self.data.qpos().to_vec(), self.data.qvel().to_vec())
    }

    fn set_state(&mut self, qpos: &[f64], qvel: &[f64]) {
        self.data.qpos_mut().copy_from_slice(qpos);
        self.data.qvel_mut().copy_from_slice(qvel);
        self.data.forward();
    }
}

impl MjTask {
    /// Places the reacher's target (reacher only).
    pub fn set_target(&mut self, xy: [f64; 2]) {
        let g = self
            .data
            .model()
            .name_to_id(MjtObjBase::mjOBJ_GEOM, "target")
            .expect("reacher target");
        // SAFETY: geom_pos has 3·ngeom elements and g < ngeom; the model is owned by this task.
        unsafe {
            let m = self.data.model().ffi() as *const mjModel as *mut mjModel;
            let p = (*m).geom_pos.add(3 * g);
            *p = xy[0];
            *p.add(1) = xy[1];
        }
    }
}

#[cfg(feature = "mujoco-gl")]
impl MjTask {
    /// Draws frames with MuJoCo's own renderer (EGL: the GPU's driver, or Mesa llvmpipe on CPU)
    /// instead of the ray caster: DMC's exact pixels, at a much higher cost on CPU.
    pub fn use_mujoco_renderer(&mut self, on: bool) {
        self.use_gl = on;
    }

    fn gl_frame(&mut self, width: usize, height: usize) -> Result<crate::render::Image, String> {
        use mujoco_rs::renderer::MjRenderer;
        if self
            .gl
            .as_ref()
            .is_none_or(|(w, h, _)| (*w, *h) != (width, height))
        {
            let r = MjRenderer::builder()
                .width(width as u32)
                .height(height as u32)
                .camera(MjvCamera::new_fixed(self.camera))
                .build(self.data.model())
                .map_err(|e| format!("{e:?}"))?;
            self.gl = Some((width, height, r));
        }
        let (_, _, r) = self.gl.as_mut().expect("created above");
        r.sync_data(&mut self.data).map_err(|e| format!("{e:?}"))?;
        r.render().map_err(|e| format!("{e:?}"))?;
        let data = r.rgb_flat().ok_or("no RGB buffer")?.to_vec();
        Ok(crate::render::Image {
            width,
            height,
            data,
        })
    }
}
