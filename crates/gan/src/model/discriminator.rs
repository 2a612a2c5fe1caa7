//! The discriminators (docs/search-spaces.md, "Discriminators"): the searched GanHard D (4 blocks
//! of 7 node ops and 2 down ops, spectral norm on every conv, sum pooling, SN linear head) and the
//! fixed AutoGAN D of the Gan space.

use anyhow::Result;
use candle_core::{Tensor, D};
use pbtnas_genome::{Genome, SearchSpace};
use pbtnas_nn::ops::{relu, ConvParams};
use pbtnas_nn::{Init, NormedWeight, Params};

use super::ops::{sum_terms, Conv, Op, Term};
use super::Geometry;

/// One GanHard block.
struct Block {
    ops: Vec<Option<Op>>,
    downsample: bool,
    /// Whether each down op acts on the path inputs (`*_pool_input`) rather than at the end.
    down_on_input: [bool; 2],
    down: [Option<Op>; 2],
}

impl Block {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let ap = |k: usize, t: &Option<Term>| -> Result<Option<Term>> {
            match (&self.ops[k], t) {
                (Some(op), Some(t)) => Ok(Some(op.forward(t, train)?)),
                _ => Ok(None),
            }
        };
        let xs = Some(Term::shared(x));
        // n0 feeds two ops and is the fallback output: shared. n1 and n2 feed one path each.
        let n0 = ap(0, &xs)?.map(|t| Term::shared(&t.t));
        let (n1, n2) = (ap(1, &xs)?, ap(2, &xs)?);
        if n0.is_none() && n1.is_none() && n2.is_none() {
            return Ok(x.clone());
        }
        let down = |i: usize, t: Option<Term>, at_input: bool| -> Result<Option<Term>> {
            match (&self.down[i], t) {
                (Some(d), Some(t)) if self.downsample && self.down_on_input[i] == at_input => {
                    Ok(Some(d.forward(&t, train)?))
                }
                (_, t) => Ok(t),
            }
        };
        // A path exists only if its own node does: without n1, c3(n0) is not used at all.
        let path =
            |i: usize, n: Option<Term>, c_from_n0: usize, c_after: usize| -> Result<Option<Term>> {
                let Some(n) = n else { return Ok(None) };
                let p = sum_terms([down(i, Some(n), true)?, down(i, ap(c_from_n0, &n0)?, true)?])?;
                let p = match &self.ops[c_after] {
                    Some(op) => p.map(|t| op.forward(&t, train)).transpose()?,
                    None => p,
                };
                down(i, p, false)
            };
        let p1 = path(0, n1, 3, 5)?;
        let p2 = path(1, n2, 4, 6)?;
        // (quirk, kept) the original computes p1 + p2 and then returns p1 whenever it exists.
        Ok(match (p1, p2) {
            (Some(p), _) | (None, Some(p)) => p.t,
            (None, None) => n0.expect("checked above").t,
        })
    }
}

/// The SN linear head `Linear(df, 1, bias=False)` after ReLU and sum pooling.
struct Head {
    w: NormedWeight,
}

impl Head {
    fn new(p: &Params, df: usize) -> Result<Self> {
        let init = Init::TorchDefault { fan_in: df };
        Ok(Self {
            w: NormedWeight::new(p, &[1, df], init, Some(true))?,
        })
    }

    fn forward(&self, h: &Tensor, train: bool) -> Result<Tensor> {
        let pooled = relu(h)?.sum(D::Minus1)?.sum(D::Minus1)?;
        Ok(pooled.matmul(&self.w.get(train)?.t()?)?)
    }
}

enum Body {
    Searched(Vec<Block>),
    AutoGan(Vec<ResBlock>),
}

/// A discriminator: logits `(n, 1)` for images `(n, 3, s, s)`.
pub struct Discriminator {
    body: Body,
    head: Head,
}

fn opt<'a>(space: &'a SearchSpace, genome: &Genome, gene: &str) -> Option<&'a str> {
    space.gene_index(gene).map(|i| space.option(genome, i))
}

impl Discriminator {
    /// The GanHard D when the space has `block1.c0`, else the AutoGAN D; parameters under `disc`.
    pub fn new(
        space: &SearchSpace,
        genome: &Genome,
        geo: Geometry,
        params: &Params,
    ) -> Result<Self> {
        let p = params.pp("disc");
        let df = geo.df;
        let body = if space.gene_index("block1.c0").is_some() {
            let mut blocks = Vec::new();
            for b in 1..=4 {
                let bp = p.pp(format!("block{b}"));
                let mut ops = Vec::new();
                for k in 0..7 {
                    let name = opt(space, genome, &format!("block{b}.c{k}")).unwrap_or("none");
                    let image_input = b == 1 && k < 3;
                    let cin = if image_input { 3 } else { df };
                    ops.push(Op::build(
                        name,
                        &bp.pp(format!("c{k}")),
                        cin,
                        df,
                        1,
                        !image_input,
                        true,
                    )?);
                }
                let down_name = |i: usize| {
                    opt(space, genome, &format!("block{b}.down{i}")).unwrap_or("avg_pool")
                };
                let down = [0, 1].map(|i| {
                    Op::build(
                        down_name(i),
                        &bp.pp(format!("down{i}")),
                        df,
                        df,
                        2,
                        true,
                        true,
                    )
                });
                let [d0, d1] = down;
                blocks.push(Block {
                    ops,
                    downsample: opt(space, genome, &format!("block{b}.downsample")) == Some("true"),
                    down_on_input: [0, 1].map(|i| down_name(i).ends_with("_input")),
                    down: [d0?, d1?],
                });
            }
            Body::Searched(blocks)
        } else {
            Body::AutoGan(vec![
                ResBlock::new(&p.pp("block1"), 3, df, true, true)?,
                ResBlock::new(&p.pp("block2"), df, df, true, false)?,
                ResBlock::new(&p.pp("block3"), df, df, false, false)?,
                ResBlock::new(&p.pp("block4"), df, df, false, false)?,
            ])
        };
        Ok(Self {
            body,
            head: Head::new(&p.pp("head"), df)?,
        })
    }

    /// Logits; `train` runs a power iteration in every spectral norm.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut h = x.clone();
        match &self.body {
            Body::Searched(blocks) => {
                for b in blocks {
                    h = b.forward(&h, train)?;
                }
            }
            Body::AutoGan(blocks) => {
                for b in blocks {
                    h = b.forward(&h, train)?;
                }
            }
        }
        self.head.forward(&h, train)
    }
}

/// AutoGAN's residual blocks: `OptimizedDisBlock` (first) and `DisBlock`, all convs SN.
struct ResBlock {
    c1: Conv,
    c2: Conv,
    shortcut: Option<Conv>,
    downsample: bool,
    first: bool,
}

impl ResBlock {
    fn new(p: &Params, cin: usize, cout: usize, downsample: bool, first: bool) -> Result<Self> {
        let k3 = ConvParams {
            padding: 1,
            ..Default::default()
        };
        let learnable = first || downsample || cin != cout;
        Ok(Self {
            c1: Conv::new(&p.pp("c1"), cin, cout, 3, k3, true, true)?,
            c2: Conv::new(&p.pp("c2"), cout, cout, 3, k3, true, true)?,
            shortcut: if learnable {
                Some(Conv::new(
                    &p.pp("c_sc"),
                    cin,
                    cout,
                    1,
                    ConvParams::default(),
                    true,
                    true,
                )?)
            } else {
                None
            },
            downsample,
            first,
        })
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let pool = |t: Tensor| -> Result<Tensor> {
            Ok(if self.downsample { t.avg_pool2d(2)? } else { t })
        };
        let r = if self.first {
            self.c1.forward(x, train)?
        } else {
            self.c1.forward_on_relu(x, train)?
        };
        let r = pool(self.c2.forward_on_relu(&r, train)?)?;
        let s = match &self.shortcut {
            // OptimizedDisBlock pools first, DisBlock convolves first.
            Some(sc) if self.first => sc.forward(&x.avg_pool2d(2)?, train)?,
            Some(sc) => pool(sc.forward(x, train)?)?,
            None => x.clone(),
        };
        Ok((r + s)?)
    }
}
