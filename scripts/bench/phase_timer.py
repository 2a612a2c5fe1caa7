"""Opt-in phase timings (PBTNAS_PROFILE=1) for the PyTorch side of the benchmarks, the counterpart
of pbtnas_nn::PhaseTimer: each mark waits for the device and adds the time since the previous mark
to its phase; off, a mark does nothing."""
import os
import time

import torch


class PhaseTimer:
    def __init__(self, device, on=None):
        self.on = os.environ.get("PBTNAS_PROFILE", "0") != "0" if on is None else on
        self.sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        self.phases, self.last = {}, time.perf_counter()

    def restart(self):
        """Starts the next phase now: the time since the last mark counts for no phase."""
        if self.on:
            self.sync()
            self.last = time.perf_counter()

    def mark(self, phase):
        if self.on:
            self.sync()
            now = time.perf_counter()
            self.phases[phase] = self.phases.get(phase, 0.0) + now - self.last
            self.last = now

    def metrics(self, per):
        """{"profile/<phase>_ms": ms per `per` repetitions}, empty when off."""
        return {f"profile/{p}_ms": round(s * 1000 / max(per, 1), 3) for p, s in self.phases.items()}
