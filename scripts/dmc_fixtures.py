#!/usr/bin/env python3
"""Reference trajectories from dm_control 1.0.50 / MuJoCo 3.17.0 for the embedded tasks.

For each task: an initial state, 300 actions (smooth sweeps with saturating pushes, so the cart
and wrist hit their limits), and the resulting qpos, qvel and reward after every step. Writes
crates/env/tests/fixtures/dmc_trajectories.json. Setup: .venv/bin/pip install mujoco==3.17.0 dm_control==1.0.50
"""
import json
import pathlib

import numpy as np
from dm_control import suite

STEPS = 300


def actions(n_act, phase):
    t = np.arange(STEPS)[:, None]
    a = 1.3 * np.sin(0.037 * t + phase + np.arange(n_act)[None, :]) + 0.4 * np.sin(0.21 * t)
    return np.clip(a, -1.0, 1.0)


def run(domain, task, qpos, qvel, target=None, phase=0.0):
    env = suite.load(domain, task)
    env.reset()
    with env.physics.reset_context():
        env.physics.data.qpos[:] = qpos
        env.physics.data.qvel[:] = qvel
        if target is not None:
            env.physics.named.model.geom_pos["target", :2] = target
    acts = actions(env.action_spec().shape[0], phase)
    out = dict(task=f"{domain}_{task}", qpos0=list(qpos), qvel0=list(qvel), target=target,
               actions=acts.tolist(), qpos=[], qvel=[], reward=[])
    for a in acts:
        ts = env.step(a)
        out["qpos"].append(env.physics.data.qpos.tolist())
        out["qvel"].append(env.physics.data.qvel.tolist())
        out["reward"].append(float(ts.reward))
    return out


cases = [
    run("cartpole", "swingup", [0.1, np.pi - 0.2], [0.0, 0.3]),
    run("cartpole", "balance", [-0.05, 0.02], [0.01, -0.01], phase=1.0),
    run("pendulum", "swingup", [2.5], [0.0]),
    run("reacher", "easy", [0.3, 2.0], [0.0, 0.0], target=[0.1, -0.08], phase=0.5),
]


def random_returns(domain, task, episodes=10):
    """Returns of a uniform random policy over full 1000-step episodes."""
    env = suite.load(domain, task, task_kwargs={"random": 7})
    rng = np.random.default_rng(7)
    spec = env.action_spec()
    returns = []
    for _ in range(episodes):
        ts, total = env.reset(), 0.0
        while not ts.last():
            ts = env.step(rng.uniform(spec.minimum, spec.maximum))
            total += ts.reward
        returns.append(total)
    return dict(task=f"{domain}_{task}", returns=returns)


random_policy = [random_returns(*t.split("_")) for t in
                 ["cartpole_swingup", "cartpole_balance", "pendulum_swingup", "reacher_easy"]]
out = pathlib.Path(__file__).resolve().parent.parent / "crates/env/tests/fixtures/dmc_trajectories.json"
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps(dict(dm_control="1.0.50", mujoco="3.17.0", cases=cases, random_policy=random_policy)))
print(f"wrote {out} ({out.stat().st_size} bytes)")
