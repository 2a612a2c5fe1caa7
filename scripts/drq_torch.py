#!/usr/bin/env python3
"""DrQ-v2's update in PyTorch (the original networks and update of facebookresearch/drqv2,
written here from the paper's description: encoder 4 unpadded 3x3 convs, trunks Linear ->
LayerNorm -> tanh to 50, policy and Q MLPs with two hidden layers, Adam lr 1e-4, clipped target
noise 0.3, soft target update 0.01), timed on a random pixel batch; prints one JSON line for
side-by-side runs with `examples/drq_update.rs` (scripts/bench_drq_compare.sh).
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=256)
p.add_argument("--size", type=int, default=84)
p.add_argument("--hidden", type=int, default=1024)
p.add_argument("--actions", type=int, default=6)
p.add_argument("--iters", type=int, default=5)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--label", default="pytorch", help="framework name in the output line")
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
F_DIM, H, A = 50, args.hidden, args.actions


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.convnet = nn.Sequential(nn.Conv2d(9, 32, 3, stride=2), nn.ReLU(), nn.Conv2d(32, 32, 3, stride=1),
                                     nn.ReLU(), nn.Conv2d(32, 32, 3, stride=1), nn.ReLU(),
                                     nn.Conv2d(32, 32, 3, stride=1), nn.ReLU())

    def forward(self, obs):
        return self.convnet(obs / 255.0 - 0.5).flatten(1)


def trunk(repr_dim):
    return nn.Sequential(nn.Linear(repr_dim, F_DIM), nn.LayerNorm(F_DIM), nn.Tanh())


def mlp(din, dout):
    return nn.Sequential(nn.Linear(din, H), nn.ReLU(), nn.Linear(H, H), nn.ReLU(), nn.Linear(H, dout))


class Actor(nn.Module):
    def __init__(self, repr_dim):
        super().__init__()
        self.trunk, self.policy = trunk(repr_dim), mlp(F_DIM, A)

    def forward(self, h):
        return torch.tanh(self.policy(self.trunk(h)))


class Critic(nn.Module):
    def __init__(self, repr_dim):
        super().__init__()
        self.trunk, self.Q1, self.Q2 = trunk(repr_dim), mlp(F_DIM + A, 1), mlp(F_DIM + A, 1)

    def forward(self, h, a):
        x = torch.cat([self.trunk(h), a], -1)
        return self.Q1(x), self.Q2(x)


side = (args.size - 3) // 2 + 1 - 6
repr_dim = 32 * side * side
enc, actor, critic, critic_target = Encoder(), Actor(repr_dim), Critic(repr_dim), Critic(repr_dim)
critic_target.load_state_dict(critic.state_dict())
opt = lambda m: torch.optim.Adam(m.parameters(), lr=1e-4)
enc_opt, actor_opt, critic_opt = opt(enc), opt(actor), opt(critic)

B = args.batch
obs = torch.rand(B, 9, args.size, args.size) * 255
next_obs = torch.rand(B, 9, args.size, args.size) * 255
action = torch.rand(B, A) * 2 - 1
reward, discount = torch.rand(B, 1), torch.full((B, 1), 0.99)
std, clip, eps = 0.2, 0.3, 1e-6


def sample(mu):
    x = mu + torch.clamp(torch.randn_like(mu) * std, -clip, clip)
    return x - x.detach() + torch.clamp(x, -1 + eps, 1 - eps).detach()


def update():
    h = enc(obs)
    with torch.no_grad():
        nh = enc(next_obs)
        t1, t2 = critic_target(nh, sample(actor(nh)))
        target_q = reward + discount * torch.min(t1, t2)
    q1, q2 = critic(h, action)
    critic_loss = F.mse_loss(q1, target_q) + F.mse_loss(q2, target_q)
    enc_opt.zero_grad(set_to_none=True)
    critic_opt.zero_grad(set_to_none=True)
    critic_loss.backward()
    critic_opt.step()
    enc_opt.step()
    h = h.detach()
    p1, p2 = critic(h, sample(actor(h)))
    actor_loss = -torch.min(p1, p2).mean()
    actor_opt.zero_grad(set_to_none=True)
    actor_loss.backward()
    actor_opt.step()
    with torch.no_grad():
        for p, tp in zip(critic.parameters(), critic_target.parameters()):
            tp.data.lerp_(p.data, 0.01)


update()
t = time.perf_counter()
for _ in range(args.iters):
    update()
ms = (time.perf_counter() - t) * 1000 / args.iters
params = sum(p.numel() for m in (enc, actor, critic) for p in m.parameters())
print(json.dumps(dict(framework=args.label, device="cpu", batch=B, size=args.size, hidden=H, iters=args.iters,
                      ms_per_update=round(ms, 3), params=params)))
