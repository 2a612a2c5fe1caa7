//! Replaying recorded dm_control trajectories (fixtures written by scripts/fixtures/dmc-*.py).

use pbtnas_env::tasks::ControlTask;
use serde_json::Value;

pub fn floats(v: &Value) -> Vec<f64> {
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

/// Steps `task` (already in the case's initial state) with the recorded actions; returns the
/// largest |difference| of positions, velocities and rewards over the trajectory.
pub fn replay(task: &mut dyn ControlTask, case: &Value) -> (f64, f64, f64) {
    let (mut dq, mut dv, mut dr) = (0f64, 0f64, 0f64);
    for (i, a) in case["actions"].as_array().unwrap().iter().enumerate() {
        task.step(&floats(a));
        let (q, v) = task.state();
        dq = dq.max(max_diff(&q, &floats(&case["qpos"][i])));
        dv = dv.max(max_diff(&v, &floats(&case["qvel"][i])));
        dr = dr.max((task.reward() - case["reward"][i].as_f64().unwrap()).abs());
    }
    (dq, dv, dr)
}
