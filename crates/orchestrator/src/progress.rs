//! Progress of a run: a line per finished member-step and per generation, with ETA, on the
//! terminal (or JSON lines, or nothing); the lines always go to `<run dir>/log.txt` and the
//! same events as JSON to `<run dir>/events.jsonl`. On a terminal, a bar per member being
//! trained shows how far its step is.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use pbtnas_task::{StepProgress, StepReporter};

use crate::events::Event;

/// What the terminal gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Output {
    /// Human-readable lines on stderr.
    #[default]
    Text,
    /// Nothing (the files still get everything).
    Quiet,
    /// One JSON object per event on stdout, for scripts and cluster logs.
    JsonLines,
}

/// A member-step's bar on a terminal (none otherwise), reporting through a [`StepProgress`].
#[derive(Debug)]
pub struct StepBar(Option<ProgressBar>);

impl StepBar {
    /// The handle a task reports its step's progress to.
    pub fn progress(&self) -> StepProgress {
        self.0.as_ref().map_or_else(StepProgress::default, |b| {
            StepProgress::new(Arc::new(TermBar(b.clone())))
        })
    }
}

#[derive(Debug)]
struct TermBar(ProgressBar);

impl StepReporter for TermBar {
    fn set(&self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
    }

    fn evaluating(&self) {
        self.0.set_position(self.0.length().unwrap_or(0));
        self.0.set_prefix("evaluating");
    }
}

/// A bar for a count of things (images, episodes) with rate and ETA, drawn on stderr only when
/// it is a terminal.
pub fn count_bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:32}] {pos}/{len} {per_sec} ETA {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// A [`pbtnas_task::StepReporter`] drawing a [`count_bar`] at its first report (a final
/// evaluation's images or episodes).
#[derive(Debug)]
pub struct CountReporter {
    what: String,
    bar: std::sync::OnceLock<ProgressBar>,
}

impl CountReporter {
    pub fn new(what: &str) -> Self {
        Self {
            what: what.to_string(),
            bar: std::sync::OnceLock::new(),
        }
    }
}

impl StepReporter for CountReporter {
    fn set(&self, done: u64, total: u64) {
        let bar = self.bar.get_or_init(|| count_bar(total, &self.what));
        bar.set_position(done);
        if done >= total {
            bar.finish();
        }
    }

    fn evaluating(&self) {}
}

/// Progress reporter shared by the workers.
pub struct Progress {
    bars: Option<MultiProgress>,
    log: Mutex<Option<std::fs::File>>,
    events: Mutex<Option<std::fs::File>>,
    output: Output,
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

fn append(dir: &Path, name: &str) -> Mutex<Option<std::fs::File>> {
    Mutex::new(
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(name))
            .ok(),
    )
}

impl Progress {
    /// Reports to the terminal as `output` says, and to `log.txt` and `events.jsonl` in `run_dir`.
    pub fn new(run_dir: &Path, output: Output) -> Self {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        Self {
            bars: (output == Output::Text && terminal).then(MultiProgress::new),
            log: append(run_dir, "log.txt"),
            events: append(run_dir, "events.jsonl"),
            output,
            start: Instant::now(),
            done_here: Mutex::new(0),
        }
    }

    /// Reports one event: `text` for people, `fields` (an object; `event`, `time` and
    /// `elapsed_s` are added) for tools.
    pub fn emit(&self, event: &Event) {
        let mut obj = event.to_json();
        if let Some(o) = obj.as_object_mut() {
            let now = SystemTime::now().duration_since(UNIX_EPOCH);
            o.insert("time".into(), now.map_or(0.0, |d| d.as_secs_f64()).into());
            o.insert(
                "elapsed_s".into(),
                self.start.elapsed().as_secs_f64().into(),
            );
        }
        let json = obj.to_string();
        let text = event.text();
        let text = text.as_str();
        match self.output {
            Output::Text => match &self.bars {
                Some(bars) => drop(bars.println(text)),
                None => eprintln!("{text}"),
            },
            Output::Quiet => {}
            // A closed pipe (`| head`) must not stop the run.
            Output::JsonLines => drop(writeln!(std::io::stdout().lock(), "{json}")),
        }
        if let Some(f) = self.log.lock().expect("log lock").as_mut() {
            let _ = writeln!(f, "{text}");
        }
        if let Some(f) = self.events.lock().expect("events lock").as_mut() {
            let _ = writeln!(f, "{json}");
        }
    }

    /// A bar for one member-step (`label`: which), shown while the returned handle's step runs;
    /// no bar unless the terminal gets text.
    pub fn step_bar(&self, label: String) -> StepBar {
        StepBar(self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new(1));
            bar.set_style(
                ProgressStyle::with_template(
                    "  {msg} {prefix:10} [{bar:30}] {pos}/{len} ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_message(label);
            bar.set_prefix("training");
            bar
        }))
    }

    /// Removes a member-step's bar.
    pub fn step_end(&self, step: &StepBar) {
        if let (Some(bars), Some(bar)) = (&self.bars, &step.0) {
            bar.finish_and_clear();
            bars.remove(bar);
        }
    }

    /// Counts a member-step finished by this process and returns the seconds `remaining` more
    /// will take at this pace.
    pub fn step_done(&self, remaining: usize) -> f64 {
        let mut n = self.done_here.lock().expect("progress lock");
        *n += 1;
        self.start.elapsed().as_secs_f64() / *n as f64 * remaining as f64
    }

    /// Wall time since this process started the run.
    pub fn elapsed(&self) -> String {
        human_duration(self.start.elapsed().as_secs_f64())
    }
}
