//! The AdversarialNAS generator for the Gan and GanHard spaces (docs/search-spaces.md,
//! "Generator"): noise projections, three searched cells with skip inputs, and the
//! BN–ReLU–conv–tanh head.

use anyhow::{Context, Result};
use candle_core::{Tensor, D};
use pbtnas_genome::{Genome, SearchSpace};
use pbtnas_nn::{batch_norm, Init, Params};

use super::ops::{sum_terms, upsample_to, Conv, Op, Term, Up};
use super::Geometry;

/// One noise projection: `Linear(z part, w²·gf)` → `(gf, w, w)` → upsample to the target → dropout.
struct Projection {
    /// Off projections still own their layer, so tensor names never depend on `if_enabled`.
    enabled: bool,
    weight: Tensor,
    bias: Tensor,
    /// The slice of z it reads (`start`, `len`), or all of z.
    part: Option<(usize, usize)>,
    width: usize,
    bilinear: bool,
    dropout: f64,
}

/// A searched cell.
struct Cell {
    up: [Up; 2],
    ops: [Option<Op>; 5],
    /// 1×1 convs on the skip outputs of earlier cells.
    skips: Vec<Conv>,
    skip_bilinear: bool,
}

/// Switches of the generator that are not genes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneratorOptions {
    /// Reproduce the original's in-place skip add (the skip output includes the skip inputs).
    pub inplace_skip_quirk: bool,
    /// STL-10 with the Gan space: two projections of 60 dims (to the bottom width and twice it).
    pub stl_projections: bool,
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        Self {
            inplace_skip_quirk: true,
            stl_projections: false,
        }
    }
}

/// The generator.
pub struct Generator {
    geo: Geometry,
    projections: Vec<Option<Projection>>,
    cells: Vec<Cell>,
    bn_gamma: Tensor,
    bn_beta: Tensor,
    bn_mean: Tensor,
    bn_var: Tensor,
    to_rgb: Conv,
    /// Reproduce the original's in-place skip add (the skip output includes the skip inputs).
    inplace_skip_quirk: bool,
}

/// The option a genome holds for a gene, or `default` when the space has no such gene (the Gan
/// space fixes what GanHard searches).
fn opt<'a>(space: &'a SearchSpace, genome: &Genome, gene: &str, default: &'a str) -> &'a str {
    space
        .gene_index(gene)
        .map_or(default, |i| space.option(genome, i))
}

impl Generator {
    /// Builds the generator of `genome` under `params` (prefix `gen`).
    pub fn new(
        space: &SearchSpace,
        genome: &Genome,
        geo: Geometry,
        params: &Params,
        options: GeneratorOptions,
    ) -> Result<Self> {
        let p = params.pp("gen");
        let gf = geo.gf;
        let n_proj = if options.stl_projections {
            anyhow::ensure!(
                space.gene_index("proj1.if_enabled").is_none(),
                "stl_projections applies to the Gan space, whose projections are not searched"
            );
            2
        } else {
            geo.cells
        };
        let mut projections = Vec::new();
        for i in 0..n_proj {
            // Without projection genes (the Gan space) every projection is on: a third of z
            // straight to the target width, nearest upsampling, no dropout.
            let enabled =
                i == 0 || opt(space, genome, &format!("proj{i}.if_enabled"), "true") == "true";
            let linear = opt(space, genome, &format!("proj{i}.linear"), "part_target");
            let (part, which) = linear.split_once('_').context("projection option")?;
            let target = geo.bottom << i;
            let width = match which {
                "bottom" => geo.bottom,
                "prev" => (target / 2).max(1),
                _ => target,
            };
            let len = geo.latent / n_proj;
            let part = (part == "part").then_some((i * len, len));
            let input = part.map_or(geo.latent, |(_, len)| len);
            let lp = p.pp(format!("proj{i}")).pp("linear");
            let init = Init::TorchDefault { fan_in: input };
            projections.push(Some(Projection {
                enabled,
                weight: lp.get((width * width * gf, input), "weight", init)?,
                bias: lp.get(width * width * gf, "bias", init)?,
                part,
                width,
                bilinear: opt(space, genome, &format!("proj{i}.up_mode"), "nearest") == "bilinear",
                dropout: opt(space, genome, &format!("proj{i}.dropout"), "0.0").parse()?,
            }));
        }
        let mut cells = Vec::new();
        for c in 1..=geo.cells {
            let cp = p.pp(format!("cell{c}"));
            let up = [0, 1].map(|k| {
                Up::build(
                    opt(space, genome, &format!("cell{c}.up{k}"), "nearest"),
                    &cp.pp(format!("up{k}")),
                    gf,
                )
            });
            let [u0, u1] = up;
            let mut ops = Vec::new();
            for k in 0..5 {
                ops.push(Op::build(
                    opt(space, genome, &format!("cell{c}.c{k}"), "conv_3x3"),
                    &cp.pp(format!("c{k}")),
                    gf,
                    gf,
                    1,
                    true,
                    false,
                )?);
            }
            let skips = (1..c)
                .map(|j| {
                    Conv::new(
                        &cp.pp(format!("skip{j}")),
                        gf,
                        gf,
                        1,
                        Default::default(),
                        true,
                        false,
                    )
                })
                .collect::<Result<_>>()?;
            cells.push(Cell {
                up: [u0?, u1?],
                ops: ops.try_into().map_err(|_| anyhow::anyhow!("5 ops"))?,
                skips,
                skip_bilinear: c == 2,
            });
        }
        let hp = p.pp("head");
        let bp = hp.pp("bn");
        Ok(Self {
            geo,
            projections,
            cells,
            bn_gamma: bp.get(
                gf,
                "weight",
                Init::NormalAround {
                    mean: 1.0,
                    std: 0.02,
                },
            )?,
            bn_beta: bp.get(gf, "bias", Init::Const(0.0))?,
            bn_mean: bp.get(gf, "running_mean", Init::Const(0.0))?,
            bn_var: bp.get(gf, "running_var", Init::Const(1.0))?,
            to_rgb: Conv::new(
                &hp.pp("to_rgb"),
                gf,
                3,
                3,
                pbtnas_nn::ops::ConvParams {
                    padding: 1,
                    ..Default::default()
                },
                true,
                false,
            )?,
            inplace_skip_quirk: options.inplace_skip_quirk,
        })
    }

    fn project(
        &self,
        i: usize,
        z: &Tensor,
        train: bool,
        dropout_seed: u64,
    ) -> Result<Option<Tensor>> {
        let Some(pr) = self
            .projections
            .get(i)
            .and_then(|p| p.as_ref())
            .filter(|p| p.enabled)
        else {
            return Ok(None);
        };
        let n = z.dim(0)?;
        let input = match pr.part {
            // CUDA's matmul wants a contiguous operand.
            Some((start, len)) => z.narrow(1, start, len)?.contiguous()?,
            None => z.clone(),
        };
        let h = input.matmul(&pr.weight.t()?)?.broadcast_add(&pr.bias)?;
        let h = h.reshape((n, self.geo.gf, pr.width, pr.width))?;
        let h = upsample_to(&h, self.geo.bottom << i, pr.bilinear)?;
        Ok(Some(if train && pr.dropout > 0.0 {
            pbtnas_nn::dropout(&h, pr.dropout, dropout_seed)?
        } else {
            h
        }))
    }

    /// Images in [-1, 1] for noise `z` `(n, latent)`. `train` uses batch statistics in the head's
    /// batch norm (and updates its running statistics) and applies projection dropout.
    pub fn forward(&self, z: &Tensor, train: bool, seed: u64) -> Result<Tensor> {
        let mut x = self
            .project(0, z, train, seed)?
            .context("projection 0 always exists")?;
        let mut skip_outs: Vec<Tensor> = Vec::new();
        let last = self.cells.len() - 1;
        for (ci, cell) in self.cells.iter().enumerate() {
            // The up outputs feed several ops: shared.
            let n0 = Term::shared(&cell.up[0].forward(&x)?);
            let n1 = Term::shared(&cell.up[1].forward(&x)?);
            let apply = |k: usize, t: &Term| -> Result<Option<Term>> {
                cell.ops[k]
                    .as_ref()
                    .map(|op| op.forward(t, train))
                    .transpose()
            };
            let n2 = match sum_terms([apply(0, &n0)?, apply(1, &n1)?])? {
                Some(t) => t,
                None => Term {
                    t: (&n0.t + &n1.t)?,
                    own: true,
                },
            };
            let size = n2.t.dim(D::Minus1)?;
            let mut skip_in: Option<Term> = None;
            for (j, conv) in cell.skips.iter().enumerate() {
                // A 1×1 conv commutes with upsampling (both linear, the interpolation weights
                // sum to 1), so it runs at the source resolution.
                let t = upsample_to(
                    &conv.forward(&skip_outs[j], train)?,
                    size,
                    cell.skip_bilinear,
                )?;
                skip_in = sum_terms([skip_in, Some(Term { t, own: true })])?;
            }
            let n2 = if self.inplace_skip_quirk {
                n2
            } else {
                skip_outs.push(n2.t.clone());
                Term::shared(&n2.t)
            };
            let mut n2_full = sum_terms([Some(n2), skip_in])?.context("n2 is present")?;
            // The original adds the skip inputs in place, so the skip output includes them.
            if self.inplace_skip_quirk {
                skip_outs.push(n2_full.t.clone());
            }
            // Later cells' skip convs and a conv op on it read it.
            n2_full.own &= ci == last && !matches!(cell.ops[4], Some(Op::Conv { .. }));
            let n3 = sum_terms([apply(2, &n0)?, apply(3, &n1)?, apply(4, &n2_full)?])?
                .unwrap_or(n2_full);
            x = match self.project(ci + 1, z, train, seed.wrapping_add(ci as u64 + 1))? {
                Some(t) if ci < last => {
                    sum_terms([Some(n3), Some(Term { t, own: true })])?
                        .context("two terms")?
                        .t
                }
                _ => n3.t,
            };
        }
        let h = batch_norm(
            &x,
            &self.bn_gamma,
            &self.bn_beta,
            &self.bn_mean,
            &self.bn_var,
            train,
            0.1,
            1e-5,
        )?;
        Ok(self.to_rgb.forward_on_relu(&h, train)?.tanh()?)
    }
}
