#!/usr/bin/env python3
"""Frames/s of dm_control (MuJoCo 3.17, EGL renderer) for the DrQ-v2 pixel loop: action repeat 2,
one 84x84 render per agent step, random actions, one episode per task. One JSON line per task.
Run with MUJOCO_GL=egl .venv/bin/python scripts/bench/env-dmc.py [TASK ...]
(with task names, results are labelled dmc/<task> to pair with the MuJoCo-backed pbtnas tasks)"""
import json
import time

import numpy as np
from dm_control import suite

import sys

for name in sys.argv[1:] or ["cartpole_swingup", "cartpole_balance", "pendulum_swingup", "reacher_easy"]:
    domain, task = name.split("_")
    env = suite.load(domain, task, task_kwargs={"random": 0})
    camera = 2 if domain == "quadruped" else 0
    spec = env.action_spec()
    rng = np.random.default_rng(0)
    ts = env.reset()
    env.physics.render(84, 84, camera_id=camera)
    start, frames = time.perf_counter(), 0
    while not ts.last():
        a = rng.uniform(spec.minimum, spec.maximum)
        for _ in range(2):
            ts = env.step(a)
            frames += 1
            if ts.last():
                break
        env.physics.render(84, 84, camera_id=camera)
    print(json.dumps({"task": name if len(sys.argv) == 1 else "dmc/" + name, "frames_per_s": frames / (time.perf_counter() - start)}), flush=True)
