#!/usr/bin/env python3
"""DrQ-v2's update in PyTorch (the original networks and update of facebookresearch/drqv2,
written here from the paper's description: encoder 4 unpadded 3x3 convs, trunks Linear ->
LayerNorm -> tanh to 50, policy and Q MLPs with two hidden layers, Adam lr 1e-4, clipped target
noise 0.3, soft target update 0.01), timed on a random pixel batch; prints one JSON line for
side-by-side runs with `examples/drq_update.rs` (scripts/bench/drq-compare.sh, and on a GPU
scripts/bench/gpu-check.sh). The batch is copied from host memory at every update, as DrQ-v2 does with
its replay buffer's batches (and pbtnas with its own). On CUDA in plain f32: TF32 is off for cuDNN
as for matmuls, as in pbtnas's default.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from phase_timer import PhaseTimer

class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.convnet = nn.Sequential(nn.Conv2d(9, 32, 3, stride=2), nn.ReLU(), nn.Conv2d(32, 32, 3, stride=1),
                                     nn.ReLU(), nn.Conv2d(32, 32, 3, stride=1), nn.ReLU(),
                                     nn.Conv2d(32, 32, 3, stride=1), nn.ReLU())

    def forward(self, obs):
        return self.convnet(obs / 255.0 - 0.5).flatten(1)


def trunk(repr_dim, f_dim):
    return nn.Sequential(nn.Linear(repr_dim, f_dim), nn.LayerNorm(f_dim), nn.Tanh())


def mlp(din, h, dout):
    return nn.Sequential(nn.Linear(din, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, dout))


class Actor(nn.Module):
    def __init__(self, repr_dim, f_dim, h, a):
        super().__init__()
        self.trunk, self.policy = trunk(repr_dim, f_dim), mlp(f_dim, h, a)

    def forward(self, h):
        return torch.tanh(self.policy(self.trunk(h)))


class Critic(nn.Module):
    def __init__(self, repr_dim, f_dim, h, a):
        super().__init__()
        self.trunk = trunk(repr_dim, f_dim)
        self.Q1, self.Q2 = mlp(f_dim + a, h, 1), mlp(f_dim + a, h, 1)

    def forward(self, h, a):
        x = torch.cat([self.trunk(h), a], -1)
        return self.Q1(x), self.Q2(x)



def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--size", type=int, default=84)
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--actions", type=int, default=6)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--label", default="pytorch", help="framework name in the output line")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device(args.device)
    torch.manual_seed(0)
    F_DIM, H, A = 50, args.hidden, args.actions


    side = (args.size - 3) // 2 + 1 - 6
    repr_dim = 32 * side * side
    enc, actor, critic, critic_target = (m.to(dev) for m in (
        Encoder(), Actor(repr_dim, F_DIM, H, A), Critic(repr_dim, F_DIM, H, A), Critic(repr_dim, F_DIM, H, A)))
    critic_target.load_state_dict(critic.state_dict())
    opt = lambda m: torch.optim.Adam(m.parameters(), lr=1e-4)
    enc_opt, actor_opt, critic_opt = opt(enc), opt(actor), opt(critic)

    B = args.batch
    host_batch = (torch.rand(B, 9, args.size, args.size) * 255, torch.rand(B, 9, args.size, args.size) * 255,
                  torch.rand(B, A) * 2 - 1, torch.rand(B, 1), torch.full((B, 1), 0.99))
    std, clip, eps = 0.2, 0.3, 1e-6


    def sample(mu):
        x = mu + torch.clamp(torch.randn_like(mu) * std, -clip, clip)
        return x - x.detach() + torch.clamp(x, -1 + eps, 1 - eps).detach()


    def update(prof):
        obs, next_obs, action, reward, discount = (t.to(dev) for t in host_batch)
        prof.mark("batch")
        h = enc(obs)
        with torch.no_grad():
            nh = enc(next_obs)
            t1, t2 = critic_target(nh, sample(actor(nh)))
            target_q = reward + discount * torch.min(t1, t2)
        q1, q2 = critic(h, action)
        critic_loss = F.mse_loss(q1, target_q) + F.mse_loss(q2, target_q)
        prof.mark("critic_forward")
        enc_opt.zero_grad(set_to_none=True)
        critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        prof.mark("critic_backward")
        critic_opt.step()
        enc_opt.step()
        prof.mark("critic_adam")
        h = h.detach()
        p1, p2 = critic(h, sample(actor(h)))
        actor_loss = -torch.min(p1, p2).mean()
        prof.mark("actor_forward")
        actor_opt.zero_grad(set_to_none=True)
        actor_loss.backward()
        prof.mark("actor_backward")
        actor_opt.step()
        prof.mark("actor_adam")
        with torch.no_grad():
            for p, tp in zip(critic.parameters(), critic_target.parameters()):
                tp.data.lerp_(p.data, 0.01)
        prof.mark("target_update")


    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    update(PhaseTimer(dev, on=False))
    sync()
    prof = PhaseTimer(dev)
    t = time.perf_counter()
    for _ in range(args.iters):
        update(prof)
    sync()
    ms = (time.perf_counter() - t) * 1000 / args.iters
    params = sum(p.numel() for m in (enc, actor, critic) for p in m.parameters())
    print(json.dumps(dict(framework=args.label, device=str(dev), batch=B, size=args.size, hidden=H, iters=args.iters,
                          ms_per_update=round(ms, 3), params=params,
                          peak_mem_mb=round(torch.cuda.max_memory_allocated() / 2**20, 1) if dev.type == "cuda" else None,
                          **prof.metrics(args.iters))))


if __name__ == "__main__":
    main()
