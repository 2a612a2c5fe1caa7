#!/usr/bin/env python3
"""Golden trajectories of the real DMC tasks from dm_control 1.0.50 / MuJoCo 3.17.0 for the
`mujoco` feature: initial state after dm_control's own reset (qpos, qvel, solver warm start,
reacher target), 100 uniform random actions, and qpos, qvel and reward after each step.
Writes crates/env/tests/fixtures/dmc_golden.json."""
import json
import pathlib

import numpy as np
from dm_control import suite

TASKS = ["walker_stand", "walker_walk", "walker_run", "quadruped_walk", "quadruped_run",
         "humanoid_stand", "humanoid_walk", "humanoid_run", "cheetah_run", "cartpole_swingup",
         "reacher_easy"]
cases = []
for i, name in enumerate(TASKS):
    domain, task = name.split("_")
    env = suite.load(domain, task, task_kwargs={"random": 1000 + i})
    env.reset()
    p = env.physics
    case = dict(task=f"dmc/{name}", qpos0=p.data.qpos.tolist(), qvel0=p.data.qvel.tolist(),
                warmstart=p.data.qacc_warmstart.tolist(),
                target=p.named.model.geom_pos["target", :2].tolist() if domain == "reacher" else None,
                actions=[], qpos=[], qvel=[], reward=[])
    spec = env.action_spec()
    rng = np.random.default_rng(i)
    for _ in range(100):
        a = rng.uniform(spec.minimum, spec.maximum)
        ts = env.step(a)
        case["actions"].append(a.tolist())
        case["qpos"].append(p.data.qpos.tolist())
        case["qvel"].append(p.data.qvel.tolist())
        case["reward"].append(float(ts.reward))
    cases.append(case)
out = pathlib.Path(__file__).resolve().parent.parent / "crates/env/tests/fixtures/dmc_golden.json"
out.write_text(json.dumps(dict(dm_control="1.0.50", mujoco="3.17.0", cases=cases)))
print(f"wrote {out} ({out.stat().st_size} bytes)")
