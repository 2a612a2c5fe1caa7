//! Genomes: one option index per gene, tied to a search space by its id.
//!
//! Compact string form: `<first 8 hex of space id>:<one base-36 digit per gene>`, where an
//! index of 36 or more is written in parentheses, e.g. `3f9a0c1e:01a2(40)0`. The long form
//! `name=option,name=option` (every gene once) is also accepted by [`SearchSpace::parse_genome`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::GenomeError;
use crate::space::SearchSpace;

/// An architecture: the option index of every gene of one search space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Genome {
    /// Id of the space this genome belongs to.
    pub space: String,
    /// Option index per gene, in the space's gene order.
    pub genes: Vec<u16>,
}

const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

impl fmt::Display for Genome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", &self.space[..self.space.len().min(8)])?;
        for &v in &self.genes {
            if (v as usize) < DIGITS.len() {
                write!(f, "{}", DIGITS[v as usize] as char)?;
            } else {
                write!(f, "({v})")?;
            }
        }
        Ok(())
    }
}

impl Genome {
    /// Number of genes whose options differ.
    pub fn distance(&self, other: &Genome) -> usize {
        self.genes
            .iter()
            .zip(&other.genes)
            .filter(|(a, b)| a != b)
            .count()
    }
}

impl SearchSpace {
    /// Checks that a genome belongs to this space and every index is in range.
    pub fn validate(&self, genome: &Genome) -> Result<(), GenomeError> {
        if genome.space != self.id {
            return Err(GenomeError::WrongSpace {
                expected: self.id.clone(),
                got: genome.space.clone(),
            });
        }
        self.check_values(genome.genes.iter().map(|&v| v as usize))
    }

    fn check_values(
        &self,
        values: impl ExactSizeIterator<Item = usize>,
    ) -> Result<(), GenomeError> {
        if values.len() != self.len() {
            return Err(GenomeError::WrongLength {
                space: self.name.clone(),
                expected: self.len(),
                got: values.len(),
            });
        }
        for (i, (v, g)) in values.zip(&self.genes).enumerate() {
            if v >= g.options.len() {
                return Err(GenomeError::OutOfRange {
                    gene: g.name.clone(),
                    index: i,
                    value: v,
                    count: g.options.len(),
                });
            }
        }
        Ok(())
    }

    /// Makes a genome of this space from option indices, validating them.
    pub fn genome(&self, genes: Vec<u16>) -> Result<Genome, GenomeError> {
        let g = Genome {
            space: self.id.clone(),
            genes,
        };
        self.validate(&g)?;
        Ok(g)
    }

    /// Parses the compact form (`id8:digits`) or the long form (`gene=option,...`).
    pub fn parse_genome(&self, input: &str) -> Result<Genome, GenomeError> {
        let input = input.trim();
        let malformed = |reason: &str| GenomeError::Malformed {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        if input.contains('=') {
            return self.parse_long(input);
        }
        let (prefix, body) = input
            .split_once(':')
            .ok_or_else(|| malformed("expected '<space id>:<genes>' or 'gene=option,...'"))?;
        if !self.id.starts_with(prefix) || prefix.len() < 8 {
            return Err(GenomeError::WrongSpace {
                expected: self.id[..8].to_string(),
                got: prefix.to_string(),
            });
        }
        let mut values = Vec::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c == '(' {
                let num: String = chars.by_ref().take_while(|&c| c != ')').collect();
                values.push(
                    num.parse::<usize>()
                        .map_err(|_| malformed(&format!("'({num})' is not a number")))?,
                );
            } else {
                let d = c
                    .to_digit(36)
                    .filter(|_| !c.is_ascii_uppercase())
                    .ok_or_else(|| malformed(&format!("'{c}' is not a base-36 digit")))?;
                values.push(d as usize);
            }
        }
        self.check_values(values.iter().copied())?;
        Ok(Genome {
            space: self.id.clone(),
            genes: values.into_iter().map(|v| v as u16).collect(),
        })
    }

    fn parse_long(&self, input: &str) -> Result<Genome, GenomeError> {
        let mut values: Vec<Option<usize>> = vec![None; self.len()];
        for item in input.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, option) = item.split_once('=').ok_or_else(|| GenomeError::Malformed {
                input: input.to_string(),
                reason: format!("'{item}' is not 'gene=option'"),
            })?;
            let gi = self
                .gene_index(name.trim())
                .ok_or_else(|| GenomeError::UnknownGene {
                    gene: name.trim().to_string(),
                })?;
            let gene = &self.genes[gi];
            let oi = gene
                .options
                .iter()
                .position(|o| o == option.trim())
                .ok_or_else(|| GenomeError::UnknownOption {
                    gene: gene.name.clone(),
                    value: option.trim().to_string(),
                    options: gene.options.join(", "),
                })?;
            if values[gi].replace(oi).is_some() {
                return Err(GenomeError::RepeatedGene {
                    gene: gene.name.clone(),
                });
            }
        }
        let missing: Vec<&str> = values
            .iter()
            .zip(&self.genes)
            .filter(|(v, _)| v.is_none())
            .map(|(_, g)| g.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(GenomeError::Malformed {
                input: input.to_string(),
                reason: format!("genes not given: {}", missing.join(", ")),
            });
        }
        self.genome(
            values
                .into_iter()
                .map(|v| v.expect("checked") as u16)
                .collect(),
        )
    }

    /// The long, readable form: `gene=option,...`.
    pub fn describe(&self, genome: &Genome) -> String {
        self.genes
            .iter()
            .zip(&genome.genes)
            .map(|(g, &v)| format!("{}={}", g.name, g.options[v as usize]))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The option name a genome holds for a gene.
    pub fn option<'a>(&'a self, genome: &Genome, gene: usize) -> &'a str {
        &self.genes[gene].options[genome.genes[gene] as usize]
    }
}
