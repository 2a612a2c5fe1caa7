//! The GAN task of PBT-NAS (docs/gan.md): the AdversarialNAS generator and the discriminators for
//! the `Gan` and `GanHard` spaces, built from genomes with parameters named by position.

pub mod fitness;
pub mod kind;
pub mod model;
pub mod task;

pub use fitness::FitnessMetric;
pub use model::{Discriminator, Generator, GeneratorOptions, Geometry};
pub use task::{GanConfig, GanTask, IsProtocol, SampleMetrics};
