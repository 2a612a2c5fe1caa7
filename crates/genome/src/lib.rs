//! Search spaces, genomes and the genome operators of PBT-NAS. No tensors here.
//!
//! A [`SearchSpace`] is declared in YAML (see [`space`]); a [`Genome`] holds one option index
//! per gene; [`ops`] has stratified initialisation, sampling, mixing and mutation.

pub mod error;
pub mod genome;
pub mod ops;
pub mod space;

pub use error::{GenomeError, SpaceError};
pub use genome::Genome;
pub use space::{Gene, SearchSpace};
