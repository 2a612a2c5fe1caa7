//! The MuJoCo-backed tasks against dm_control 1.0.50 / MuJoCo 3.17.0 (scripts/fixtures/dmc-golden.py):
//! from dm_control's initial state, 100 random actions; positions, velocities and rewards must
//! match. Needs `--features mujoco` (and scripts/setup/mujoco.sh).
#![cfg(feature = "mujoco")]

mod common;

use common::{floats, replay};
use pbtnas_env::mujoco::{MjTask, MUJOCO_TASKS};
use pbtnas_env::tasks::ControlTask;
use pbtnas_env::{DmcEnv, Env};
use serde_json::Value;

#[test]
fn mujoco_tasks_match_dm_control() {
    let fx: Value = serde_json::from_str(include_str!("fixtures/dmc_golden.json")).unwrap();
    for case in fx["cases"].as_array().unwrap() {
        let name = case["task"].as_str().unwrap();
        let mut t = MjTask::new(name).unwrap();
        if let Some(xy) = case["target"].as_array() {
            t.set_target([xy[0].as_f64().unwrap(), xy[1].as_f64().unwrap()]);
        }
        t.set_state(&floats(&case["qpos0"]), &floats(&case["qvel0"]));
        t.set_warmstart(&floats(&case["warmstart"]));
        let (dq, dv, dr) = replay(&mut t, case);
        // Measured after 100 steps: 1e-16 (cartpole, reacher, cheetah) to 3e-8 (walker walk); the
        // contact-rich tasks amplify last-bit differences of the JSON round trip.
        assert!(
            dq < 1e-6 && dv < 1e-4 && dr < 1e-6,
            "{name}: |dq| {dq:.2e} |dv| {dv:.2e} |dr| {dr:.2e}"
        );
    }
}

#[test]
fn every_mujoco_task_runs_an_episode_from_pixels() {
    for name in MUJOCO_TASKS {
        let mut env = pbtnas_env::pixel_env(name, 2, 84, 3).unwrap();
        let (obs, _) = env.reset(Some(3)).unwrap();
        assert_eq!(obs.len(), 9 * 84 * 84);
        let n = env.action_space().size();
        let mut steps = 0;
        loop {
            let s = env.step(&vec![0.1; n]).unwrap();
            steps += 1;
            assert!(
                s.reward.is_finite() && (0.0..=2.0).contains(&s.reward),
                "{name}: reward {}",
                s.reward
            );
            if s.truncated || s.terminated {
                break;
            }
        }
        assert_eq!(steps, 500, "{name}");
        let mut e = DmcEnv::new(name).unwrap();
        e.reset(Some(0)).unwrap();
        assert!(e.render(32, 32).data.iter().any(|&p| p > 0));
    }
}

/// The ray caster against MuJoCo's own renderer on the same states: the bodies (DMC's orange
/// `self` material) must cover the same pixels (silhouette IoU), so agents see the same scene.
#[cfg(feature = "mujoco-gl")]
#[test]
fn ray_caster_silhouettes_match_mujoco_renderer() {
    for name in MUJOCO_TASKS {
        let mut ray = DmcEnv::new(name).unwrap();
        let mut gl = DmcEnv::with_mujoco_renderer(name).unwrap();
        assert_eq!((ray.renderer(), gl.renderer()), ("raycast", "mujoco-egl"));
        ray.reset(Some(4)).unwrap();
        gl.reset(Some(4)).unwrap();
        let n = ray.action_space().size();
        for _ in 0..20 {
            ray.step(&vec![0.2; n]).unwrap();
            gl.step(&vec![0.2; n]).unwrap();
        }
        let mask = |img: &pbtnas_env::render::Image| -> Vec<bool> {
            img.data
                .chunks(3)
                .map(|p| p[0] as i32 > p[2] as i32 + 40 && p[0] > 60)
                .collect()
        };
        let (a, b) = (mask(&ray.render(84, 84)), mask(&gl.render(84, 84)));
        let inter = a.iter().zip(&b).filter(|(x, y)| **x && **y).count() as f64;
        let union = a.iter().zip(&b).filter(|(x, y)| **x || **y).count() as f64;
        let iou = inter / union.max(1.0);
        println!("{name}: silhouette IoU {iou:.2} ({union} px)");
        assert!(union > 20.0 && iou > 0.6, "{name}: silhouette IoU {iou:.2}");
    }
}
