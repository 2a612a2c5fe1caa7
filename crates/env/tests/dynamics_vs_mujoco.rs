//! The embedded tasks replay trajectories recorded from dm_control 1.0.50 / MuJoCo 3.17.0
//! (scripts/fixtures/dmc-trajectories.py): same initial state and actions, state and reward compared after
//! every one of 300 steps, including steps where the cart and the wrist press on their limits.

mod common;

use common::{floats, replay};
use pbtnas_env::tasks::{task, ControlTask, Reacher};
use serde_json::Value;

#[test]
fn embedded_tasks_follow_mujoco_step_by_step() {
    let fx: Value = serde_json::from_str(include_str!("fixtures/dmc_trajectories.json")).unwrap();
    for case in fx["cases"].as_array().unwrap() {
        let name = case["task"].as_str().unwrap();
        let mut t: Box<dyn ControlTask> = if name == "reacher_easy" {
            let xy = floats(&case["target"]);
            let mut r = Reacher::new(0.05);
            r.set_target([xy[0], xy[1]]);
            Box::new(r)
        } else {
            task(name).unwrap()
        };
        t.set_state(&floats(&case["qpos0"]), &floats(&case["qvel0"]));
        let (dq, dv, dr) = replay(t.as_mut(), case);
        // Measured: cartpole 1e-7 (RK4 through the soft slider limit), pendulum 3e-9,
        // reacher 3e-15 (the wrist limit included).
        assert!(
            dq < 1e-6 && dv < 1e-5 && dr < 1e-6,
            "{name}: |dq| {dq:.2e} |dv| {dv:.2e} |dr| {dr:.2e}"
        );
    }
}
