//! Search spaces declared in YAML: named genes, their ordered options, the layer positions they own.
//!
//! ```yaml
//! name: mlp
//! option_sets:
//!   act: [relu, tanh, gelu]
//! genes:
//!   - name: stem.act
//!     options: act                  # a named option set ...
//!   - block: layer                  # ... or a block, expanded once per value of its variable
//!     for: { i: [1, 2, 3] }         # values: a list, or a range string "0..3"
//!     genes:
//!       - name: "l{i}.op"
//!         options: [identity, linear, residual]
//!         positions: ["net.l{i}"]   # parameter-name prefixes this gene owns
//!       - name: "l{i}.act"
//!         options: act              # no positions: the gene owns no weights
//! ```
//! Blocks nest; `{var}` is substituted in gene names and positions.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::SpaceError;

/// One searchable decision: an ordered list of options and the positions whose weights it owns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Gene {
    pub name: String,
    pub options: Vec<String>,
    /// Parameter-name prefixes (e.g. `net.l2`); empty for genes that own no weights.
    pub positions: Vec<String>,
}

/// An expanded search space. Its `id` is a hash of its name, genes, options and positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchSpace {
    pub name: String,
    pub genes: Vec<Gene>,
    pub id: String,
    index: HashMap<String, usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpace {
    name: String,
    #[serde(default)]
    option_sets: BTreeMap<String, Vec<String>>,
    genes: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: Option<String>,
    options: Option<RawOptions>,
    positions: Option<Vec<String>>,
    block: Option<String>,
    #[serde(rename = "for")]
    for_each: Option<BTreeMap<String, RawValues>>,
    genes: Option<Vec<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawOptions {
    List(Vec<String>),
    Set(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawValues {
    List(Vec<serde_norway::Value>),
    Range(String),
}

impl SearchSpace {
    /// Reads and expands a space file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SpaceError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SpaceError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        Self::from_yaml(&text, path)
    }

    /// Parses and expands a space from YAML text; `file` is only used in error messages.
    pub fn from_yaml(text: &str, file: impl AsRef<Path>) -> Result<Self, SpaceError> {
        let file = file.as_ref().to_path_buf();
        let raw: RawSpace = serde_norway::from_str(text).map_err(|e| SpaceError::Yaml {
            file: file.clone(),
            message: e.to_string(),
        })?;
        let mut genes = Vec::new();
        let ctx = Expander {
            file: &file,
            sets: &raw.option_sets,
        };
        ctx.expand(&raw.genes, &BTreeMap::new(), "genes", &mut genes)?;
        Self::from_genes(raw.name, genes, &file)
    }

    /// Builds a space from already expanded genes, validating them.
    pub fn from_genes(name: String, genes: Vec<Gene>, file: &Path) -> Result<Self, SpaceError> {
        if genes.is_empty() {
            return Err(SpaceError::NoGenes {
                file: file.to_path_buf(),
            });
        }
        let mut index = HashMap::new();
        let mut owners: HashMap<&str, &str> = HashMap::new();
        for (i, g) in genes.iter().enumerate() {
            if index.insert(g.name.clone(), i).is_some() {
                return Err(SpaceError::DuplicateGene {
                    file: file.to_path_buf(),
                    gene: g.name.clone(),
                });
            }
            if g.options.is_empty() {
                return Err(SpaceError::EmptyOptions {
                    file: file.to_path_buf(),
                    gene: g.name.clone(),
                });
            }
            for (j, o) in g.options.iter().enumerate() {
                if g.options[..j].contains(o) {
                    return Err(SpaceError::DuplicateOption {
                        file: file.to_path_buf(),
                        gene: g.name.clone(),
                        option: o.clone(),
                    });
                }
            }
            for p in &g.positions {
                if let Some(first) = owners.insert(p, &g.name) {
                    return Err(SpaceError::SharedPosition {
                        file: file.to_path_buf(),
                        position: p.clone(),
                        first: first.to_string(),
                        second: g.name.clone(),
                    });
                }
            }
        }
        let mut canon = String::new();
        let _ = writeln!(canon, "{}", name);
        for g in &genes {
            let _ = writeln!(
                canon,
                "{}|{}|{}",
                g.name,
                g.options.join(","),
                g.positions.join(",")
            );
        }
        let id = hex16(&Sha256::digest(canon.as_bytes()));
        Ok(Self {
            name,
            genes,
            id,
            index,
        })
    }

    /// Number of genes.
    pub fn len(&self) -> usize {
        self.genes.len()
    }

    /// True if the space has no genes (never, for a validated space).
    pub fn is_empty(&self) -> bool {
        self.genes.is_empty()
    }

    /// Index of the gene with this name.
    pub fn gene_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// log10 of the number of distinct genomes.
    pub fn log10_size(&self) -> f64 {
        self.genes
            .iter()
            .map(|g| (g.options.len() as f64).log10())
            .sum()
    }

    /// The positions owned by the given genes, in gene order.
    pub fn positions_of(&self, genes: &[usize]) -> Vec<String> {
        genes
            .iter()
            .flat_map(|&g| self.genes[g].positions.iter().cloned())
            .collect()
    }

    /// Writes the expanded space as YAML (what a run directory keeps).
    pub fn to_yaml(&self) -> String {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            name: &'a str,
            genes: &'a [Gene],
        }
        serde_norway::to_string(&Out {
            name: &self.name,
            genes: &self.genes,
        })
        .expect("a space always serializes")
    }
}

fn hex16(bytes: &[u8]) -> String {
    bytes[..8].iter().map(|b| format!("{b:02x}")).collect()
}

struct Expander<'a> {
    file: &'a PathBuf,
    sets: &'a BTreeMap<String, Vec<String>>,
}

impl Expander<'_> {
    fn bad(&self, context: &str, message: impl Into<String>) -> SpaceError {
        SpaceError::BadEntry {
            file: self.file.clone(),
            context: context.to_string(),
            message: message.into(),
        }
    }

    fn expand(
        &self,
        entries: &[RawEntry],
        vars: &BTreeMap<String, String>,
        context: &str,
        out: &mut Vec<Gene>,
    ) -> Result<(), SpaceError> {
        for (k, e) in entries.iter().enumerate() {
            let here = match (&e.name, &e.block) {
                (Some(n), _) => format!("gene '{}'", subst(n, vars)),
                (None, Some(b)) => format!("block '{b}'"),
                _ => format!("{context}[{k}]"),
            };
            match (&e.name, &e.genes) {
                (Some(name), None) => {
                    if e.for_each.is_some() || e.block.is_some() {
                        return Err(self.bad(&here, "a gene cannot have 'for' or 'block'"));
                    }
                    let name = subst(name, vars);
                    let options = match &e.options {
                        None => return Err(self.bad(&here, "missing 'options'")),
                        Some(RawOptions::List(l)) => l.clone(),
                        Some(RawOptions::Set(s)) => match self.sets.get(s) {
                            Some(l) => l.clone(),
                            None => {
                                return Err(SpaceError::UnknownOptionSet {
                                    file: self.file.clone(),
                                    gene: name,
                                    set: s.clone(),
                                    defined: self
                                        .sets
                                        .keys()
                                        .cloned()
                                        .collect::<Vec<_>>()
                                        .join(", "),
                                })
                            }
                        },
                    };
                    let positions = e
                        .positions
                        .iter()
                        .flatten()
                        .map(|p| subst(p, vars))
                        .collect();
                    out.push(Gene {
                        name,
                        options,
                        positions,
                    });
                    if out.len() > MAX_GENES {
                        return Err(self.bad(
                            &here,
                            format!("the space expands to more than {MAX_GENES} genes; is a 'for' range too large?"),
                        ));
                    }
                }
                (None, Some(genes)) => {
                    if e.options.is_some() || e.positions.is_some() {
                        return Err(
                            self.bad(&here, "a block has 'genes', not 'options' or 'positions'")
                        );
                    }
                    match &e.for_each {
                        None => self.expand(genes, vars, &here, out)?,
                        Some(f) if f.len() == 1 => {
                            let (var, values) = f.iter().next().expect("one entry");
                            for v in self.values(values, &here)? {
                                let mut inner = vars.clone();
                                inner.insert(var.clone(), v);
                                self.expand(genes, &inner, &here, out)?;
                            }
                        }
                        Some(_) => {
                            return Err(self.bad(
                                &here,
                                "'for' takes exactly one variable; nest blocks for more",
                            ))
                        }
                    }
                }
                (Some(_), Some(_)) => {
                    return Err(self.bad(
                        &here,
                        "an entry has either 'name' (a gene) or 'genes' (a block), not both",
                    ))
                }
                (None, None) => {
                    return Err(self.bad(
                        &here,
                        "an entry needs 'name' and 'options' (a gene) or 'genes' (a block)",
                    ))
                }
            }
        }
        Ok(())
    }

    fn values(&self, raw: &RawValues, here: &str) -> Result<Vec<String>, SpaceError> {
        match raw {
            RawValues::List(l) => l
                .iter()
                .map(|v| match v {
                    serde_norway::Value::String(s) => Ok(s.clone()),
                    serde_norway::Value::Number(n) => Ok(n.to_string()),
                    other => Err(self.bad(
                        here,
                        format!("'for' values must be strings or numbers, got {other:?}"),
                    )),
                })
                .collect(),
            RawValues::Range(r) => {
                let parsed = r.split_once("..").and_then(|(a, b)| {
                    Some((a.trim().parse::<i64>().ok()?, b.trim().parse::<i64>().ok()?))
                });
                match parsed {
                    Some((a, b)) if a <= b && b - a > MAX_GENES as i64 => Err(self.bad(
                        here,
                        format!("'for' range '{r}' has {} values; a space has at most {MAX_GENES} genes", b - a),
                    )),
                    Some((a, b)) if a <= b => Ok((a..b).map(|i| i.to_string()).collect()),
                    _ => Err(self.bad(
                        here,
                        format!("'for' range '{r}' is not of the form 'a..b' with a <= b"),
                    )),
                }
            }
        }
    }
}

/// The most genes a space may have: far beyond any real space, small enough to refuse a typo
/// in a range before it allocates.
pub const MAX_GENES: usize = 100_000;

fn subst(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = s.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}
