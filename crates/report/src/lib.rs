//! Seeing a search: everything derived from a run's store for people and tools to look at.
//!
//! - [`export`]: `metrics.jsonl` and `population.csv`, the flat source for any other tool;
//! - [`tensorboard`]: event files per member slot, per lineage and for the population
//!   (written by [`tfevents`], a small writer of TensorBoard's record format);
//! - [`history`]: the series behind the plots (best-so-far, median, block history, option shares);
//! - [`plots`] and [`html`]: the static HTML report with SVG plots, [`lineage`] its graph and DOT;
//! - [`compare`] and [`wilcoxon`]: several runs side by side with the paper's statistics;
//! - [`experiment`]: an experiment's table (entries × seeds), curves and what is missing;
//! - [`best`]: the best member exported for use outside the search.

pub mod best;
pub mod compare;
pub mod experiment;
pub mod export;
pub mod history;
pub mod html;
pub mod lineage;
pub mod plots;
pub mod run_data;
pub mod tensorboard;
pub mod tfevents;
pub mod wilcoxon;

pub use run_data::RunData;
