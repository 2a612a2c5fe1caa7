//! Opt-in phase timings of training steps (`PBTNAS_PROFILE=1`): each mark waits for the device
//! and adds the time since the previous mark to its phase, so that on a GPU, where ops only queue
//! work, the phases show where a step's time goes (at the cost of one synchronisation per mark).
//! Off, a mark costs nothing.

use std::time::{Duration, Instant};

use candle_core::{Device, Result};

/// Time per named phase since the timer was made.
#[derive(Debug)]
pub struct PhaseTimer {
    device: Option<Device>,
    last: Instant,
    phases: Vec<(&'static str, Duration)>,
}

impl PhaseTimer {
    /// A timer for work on `device`, on when `PBTNAS_PROFILE` is set to anything but `0`.
    pub fn from_env(device: &Device) -> Self {
        let on = std::env::var("PBTNAS_PROFILE").is_ok_and(|v| v != "0");
        Self::new(device, on)
    }

    /// A timer that is on or off.
    pub fn new(device: &Device, on: bool) -> Self {
        Self {
            device: on.then(|| device.clone()),
            last: Instant::now(),
            phases: Vec::new(),
        }
    }

    /// Whether marks are timed.
    pub fn is_on(&self) -> bool {
        self.device.is_some()
    }

    /// Starts the next phase now: the time since the last mark counts for no phase.
    pub fn restart(&mut self) -> Result<()> {
        if let Some(device) = &self.device {
            device.synchronize()?;
            self.last = Instant::now();
        }
        Ok(())
    }

    /// Ends `phase`: waits for the device, then adds the time since the last mark to it.
    pub fn mark(&mut self, phase: &'static str) -> Result<()> {
        let Some(device) = &self.device else {
            return Ok(());
        };
        device.synchronize()?;
        let now = Instant::now();
        let spent = now - self.last;
        self.last = now;
        match self.phases.iter_mut().find(|(p, _)| *p == phase) {
            Some((_, d)) => *d += spent,
            None => self.phases.push((phase, spent)),
        }
        Ok(())
    }

    /// `profile/<phase>_ms` per `per` repetitions (iterations, updates), in the order phases
    /// were first marked; empty when off.
    pub fn metrics(&self, per: usize) -> Vec<(String, f64)> {
        self.phases
            .iter()
            .map(|(p, d)| {
                let ms = d.as_secs_f64() * 1000.0 / per.max(1) as f64;
                (format!("profile/{p}_ms"), ms)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_add_up_in_the_order_first_marked() {
        let mut t = PhaseTimer::new(&Device::Cpu, true);
        let start = Instant::now();
        for _ in 0..2 {
            std::thread::sleep(Duration::from_millis(20));
            t.mark("a").unwrap();
            std::thread::sleep(Duration::from_millis(10));
            t.mark("b").unwrap();
        }
        let total = start.elapsed().as_secs_f64() * 1000.0;
        let m = t.metrics(2);
        assert_eq!(
            m.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["profile/a_ms", "profile/b_ms"]
        );
        assert!(m[0].1 >= 20.0 && m[1].1 >= 10.0, "{m:?}");
        assert!((m[0].1 + m[1].1) * 2.0 <= total + 1e-9, "{m:?} vs {total}");
        let mut off = PhaseTimer::new(&Device::Cpu, false);
        off.mark("a").unwrap();
        assert!(!off.is_on() && off.metrics(1).is_empty());
    }
}
