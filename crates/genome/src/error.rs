//! Errors of search-space files and genomes. Each names the file, gene and value at fault.

use std::path::PathBuf;

/// A search-space file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpaceError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: invalid YAML: {message}")]
    Yaml { file: PathBuf, message: String },
    #[error("{file}: {context}: {message}")]
    BadEntry {
        file: PathBuf,
        context: String,
        message: String,
    },
    #[error("{file}: gene '{gene}' is declared twice")]
    DuplicateGene { file: PathBuf, gene: String },
    #[error("{file}: gene '{gene}' has an empty option list")]
    EmptyOptions { file: PathBuf, gene: String },
    #[error("{file}: gene '{gene}' lists option '{option}' twice")]
    DuplicateOption {
        file: PathBuf,
        gene: String,
        option: String,
    },
    #[error(
        "{file}: gene '{gene}' uses option set '{set}', which is not defined (defined: {defined})"
    )]
    UnknownOptionSet {
        file: PathBuf,
        gene: String,
        set: String,
        defined: String,
    },
    #[error("{file}: position '{position}' is owned by both '{first}' and '{second}'")]
    SharedPosition {
        file: PathBuf,
        position: String,
        first: String,
        second: String,
    },
    #[error("{file}: the space declares no genes")]
    NoGenes { file: PathBuf },
}

/// A genome that does not fit its search space.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenomeError {
    #[error("genome has {got} genes, space '{space}' has {expected}")]
    WrongLength {
        space: String,
        expected: usize,
        got: usize,
    },
    #[error("genome belongs to space {got}, expected space {expected}")]
    WrongSpace { expected: String, got: String },
    #[error(
        "gene '{gene}' (#{index}): option index {value} out of range, the gene has {count} options"
    )]
    OutOfRange {
        gene: String,
        index: usize,
        value: usize,
        count: usize,
    },
    #[error("gene '{gene}': unknown option '{value}' (options: {options})")]
    UnknownOption {
        gene: String,
        value: String,
        options: String,
    },
    #[error("unknown gene '{gene}'")]
    UnknownGene { gene: String },
    #[error("gene '{gene}' is given twice")]
    RepeatedGene { gene: String },
    #[error("cannot parse genome '{input}': {reason}")]
    Malformed { input: String, reason: String },
    #[error("no gene of space '{space}' has two or more options, nothing can mutate")]
    NothingToMutate { space: String },
}
