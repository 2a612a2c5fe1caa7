//! What a run says as it goes, each event described once: one value gives both its JSON line
//! (`events.jsonl`, `--json`: `{"event": <name>, "time", "elapsed_s", fields…}`) and its text line
//! (`log.txt`, the terminal). Fields marked `skip` only shape the text.

use std::path::PathBuf;

use serde::Serialize;

use crate::footprint::Footprint;
use crate::progress::human_duration;
use crate::store::TrialStatus;

/// A recomputed checkpoint, as the store records it (`checkpoint_repaired`).
#[derive(Debug, Clone, Serialize)]
pub struct Repair {
    pub checkpoint: String,
    pub problem: String,
    /// 0-based, as the store's generations.
    pub generation: u32,
    pub slot: usize,
    /// Whether the redone step gave the same bytes.
    pub identical: bool,
    pub redone: String,
}

/// An event of a run. Generations are 1-based in every event but the repair's.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Start {
        run: String,
        dir: PathBuf,
        population: usize,
        steps: u32,
        space: String,
        resumed: bool,
        /// Resumed: interrupted steps made pending again.
        #[serde(skip_serializing_if = "Option::is_none")]
        requeued: Option<usize>,
        #[serde(skip)]
        genes: usize,
        #[serde(skip)]
        log10_size: f64,
        /// Resumed: the newest generation (0-based).
        #[serde(skip)]
        at_generation: u32,
    },
    Footprint(Footprint),
    Device {
        device: String,
        workers: usize,
        checkpoints: String,
    },
    Step {
        generation: u32,
        slot: usize,
        status: TrialStatus,
        fitness: Option<f64>,
        left_in_generation: usize,
        eta_s: f64,
        #[serde(skip)]
        steps: u32,
    },
    Generation {
        generation: u32,
        steps: u32,
        best: f64,
        median: f64,
        best_ever: Option<f64>,
        failed: usize,
        /// `fitness (gen g slot s)` of the best-ever member, or `-`.
        #[serde(skip)]
        best_ever_text: String,
        #[serde(skip)]
        elapsed: String,
    },
    Plan {
        generation: u32,
        changes: Vec<String>,
    },
    Warning {
        message: String,
    },
    Error {
        generation: u32,
        slot: usize,
        error: String,
    },
    CheckpointRepaired(Repair),
    Done {
        best_fitness: Option<f64>,
        generation: u32,
        slot: usize,
        genome: String,
        initial_best: f64,
    },
    UntrainedBestEver {
        generation: u32,
        slot: usize,
    },
}

impl Event {
    /// The event's JSON object, without the time fields the progress output adds.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("an event serialises")
    }

    /// The event's line in the log and on the terminal.
    pub fn text(&self) -> String {
        match self {
            Event::Start {
                run,
                dir,
                population,
                steps,
                space,
                resumed: false,
                genes,
                log10_size,
                ..
            } => format!(
                "new run {run} in {}: {population} members x {steps} steps, space '{space}' ({genes} genes, 10^{log10_size:.1} architectures)",
                dir.display()
            ),
            Event::Start {
                run,
                dir,
                requeued,
                at_generation,
                ..
            } => format!(
                "resuming run {run} in {} at generation {at_generation} ({} interrupted step(s) to redo)",
                dir.display(),
                requeued.unwrap_or(0)
            ),
            Event::Footprint(fp) => fp.describe(),
            Event::Device {
                device,
                workers,
                checkpoints,
            } => format!(
                "device {device}, {workers} member(s) trained at once; checkpoints in {checkpoints}"
            ),
            Event::Step {
                generation,
                slot,
                status,
                fitness,
                left_in_generation,
                eta_s,
                steps,
            } => {
                let what = match (status, fitness) {
                    (TrialStatus::Done, Some(f)) => format!("fitness {f:.5}"),
                    _ => "FAILED (ranked last)".to_string(),
                };
                format!(
                    "  [gen {generation}/{steps}] slot {slot:>2} {what}  ({left_in_generation} left in generation, ETA {})",
                    human_duration(*eta_s)
                )
            }
            Event::Generation {
                generation,
                steps,
                best,
                median,
                failed,
                best_ever_text,
                elapsed,
                ..
            } => format!(
                "gen {generation}/{steps} | best {best:.5} | median {median:.5} | best ever {best_ever_text}{} | elapsed {elapsed}",
                if *failed > 0 {
                    format!(" | {failed} failed")
                } else {
                    String::new()
                }
            ),
            Event::Plan { changes, .. } => format!("  next generation: {}", changes.join(", ")),
            Event::Warning { message } => format!("warning: {message}"),
            Event::Error {
                generation,
                slot,
                error,
            } => format!("gen {generation} slot {slot}: error: {error}"),
            Event::CheckpointRepaired(r) => format!(
                "  redid gen {} slot {}: checkpoint {}",
                r.generation + 1,
                r.slot,
                if r.identical {
                    "restored (identical bytes)"
                } else {
                    "NOT identical (the step is not deterministic here); using the redone state"
                }
            ),
            Event::Done {
                best_fitness,
                generation,
                slot,
                genome,
                initial_best,
            } => format!(
                "done: best fitness {:.5} (gen {generation} slot {slot}, genome {genome}); best after the first step {initial_best:.5}",
                best_fitness.unwrap_or(f64::NAN)
            ),
            Event::UntrainedBestEver { generation, slot } => format!(
                "untrained_best_ever: the best-ever model is the start state of gen {generation} slot {slot} (an untrained SEARL child), as in the original; `pbtnas eval` evaluates it"
            ),
        }
    }
}
