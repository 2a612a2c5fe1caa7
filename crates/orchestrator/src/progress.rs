//! Terminal progress: a line per finished member-step and per generation, with ETA; the same
//! lines are appended to `<run dir>/log.txt`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

/// Progress reporter shared by the workers.
pub struct Progress {
    log: Mutex<Option<std::fs::File>>,
    quiet: bool,
    start: Instant,
    done_here: Mutex<usize>,
}

/// `1h 02m`, `3m 20s`, `12s`.
pub fn human_duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

impl Progress {
    /// Reports to stderr (unless `quiet`) and to `log.txt` in `run_dir`.
    pub fn new(run_dir: &Path, quiet: bool) -> Self {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(run_dir.join("log.txt"))
            .ok();
        Self {
            log: Mutex::new(log),
            quiet,
            start: Instant::now(),
            done_here: Mutex::new(0),
        }
    }

    /// Prints and logs one line.
    pub fn line(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
        if let Some(f) = self.log.lock().expect("log lock").as_mut() {
            let _ = writeln!(f, "{text}");
        }
    }

    /// Counts a member-step finished by this process and returns the ETA for `remaining` more.
    pub fn step_done(&self, remaining: usize) -> String {
        let mut n = self.done_here.lock().expect("progress lock");
        *n += 1;
        let per = self.start.elapsed().as_secs_f64() / *n as f64;
        human_duration(per * remaining as f64)
    }

    /// Wall time since this process started the run.
    pub fn elapsed(&self) -> String {
        human_duration(self.start.elapsed().as_secs_f64())
    }
}
