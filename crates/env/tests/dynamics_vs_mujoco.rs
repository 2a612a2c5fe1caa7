//! The embedded tasks replay trajectories recorded from dm_control 1.0.50 / MuJoCo 3.17.0
//! (scripts/dmc_fixtures.py): same initial state and actions, state and reward compared after
//! every one of 300 steps, including steps where the cart and the wrist press on their limits.

use pbtnas_env::tasks::{task, Reacher, Task};
use serde_json::Value;

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn embedded_tasks_follow_mujoco_step_by_step() {
    let fx: Value = serde_json::from_str(include_str!("fixtures/dmc_trajectories.json")).unwrap();
    for case in fx["cases"].as_array().unwrap() {
        let name = case["task"].as_str().unwrap();
        let mut t: Box<dyn Task> = if name == "reacher_easy" {
            let xy = floats(&case["target"]);
            let mut r = Reacher::new(0.05);
            r.set_target([xy[0], xy[1]]);
            Box::new(r)
        } else {
            task(name).unwrap()
        };
        t.set_state(&floats(&case["qpos0"]), &floats(&case["qvel0"]));
        let (mut dq, mut dv, mut dr) = (0f64, 0f64, 0f64);
        for (i, a) in case["actions"].as_array().unwrap().iter().enumerate() {
            t.step(&floats(a));
            let (q, v) = t.state();
            dq = dq.max(max_diff(&q, &floats(&case["qpos"][i])));
            dv = dv.max(max_diff(&v, &floats(&case["qvel"][i])));
            dr = dr.max((t.reward() - case["reward"][i].as_f64().unwrap()).abs());
        }
        // Measured: cartpole 1e-7 (RK4 through the soft slider limit), pendulum 3e-9,
        // reacher 3e-15 (the wrist limit included).
        assert!(
            dq < 1e-6 && dv < 1e-5 && dr < 1e-6,
            "{name}: |dq| {dq:.2e} |dv| {dv:.2e} |dr| {dr:.2e}"
        );
    }
}
