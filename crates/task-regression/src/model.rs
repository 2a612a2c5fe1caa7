//! The searchable MLP: stem `Linear(4, width)` + activation, layers `l1..lL` each an op
//! (identity / linear / residual) followed by an activation, head `Linear(width, 1)`.
//! Tensor names: `net.stem.*`, `net.l<i>.linear.*` or `net.l<i>.residual.*`, `net.head.*`.

use anyhow::{bail, Context, Result};
use candle_core::{Module, Tensor};
use candle_nn::Linear;
use pbtnas_genome::{Genome, SearchSpace};
use pbtnas_nn::{Init, Params};

use crate::data::INPUTS;

/// An activation gene's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Relu,
    Tanh,
    Gelu,
    Sin,
    Identity,
}

impl Act {
    fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "relu" => Act::Relu,
            "tanh" => Act::Tanh,
            "gelu" => Act::Gelu,
            "sin" => Act::Sin,
            "identity" => Act::Identity,
            other => bail!("unknown activation '{other}'"),
        })
    }

    fn apply(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Act::Relu => x.relu(),
            Act::Tanh => x.tanh(),
            Act::Gelu => x.gelu_erf(),
            Act::Sin => x.sin(),
            Act::Identity => Ok(x.clone()),
        }
    }
}

/// A layer's op; `Linear` and `Residual` own weights under different names.
enum Op {
    Identity,
    Linear(Linear),
    Residual(Linear),
}

fn linear(p: &Params, inp: usize, out: usize) -> candle_core::Result<Linear> {
    let init = Init::TorchDefault { fan_in: inp };
    Ok(Linear::new(
        p.get((out, inp), "weight", init)?,
        Some(p.get(out, "bias", init)?),
    ))
}

/// The model of one member.
pub struct Mlp {
    stem: Linear,
    stem_act: Act,
    layers: Vec<(Op, Act)>,
    head: Linear,
}

/// How many `l<i>.op` genes the space has (layers are numbered from 1).
pub fn layer_count(space: &SearchSpace) -> usize {
    (1..)
        .take_while(|i| space.gene_index(&format!("l{i}.op")).is_some())
        .count()
}

fn option<'a>(space: &'a SearchSpace, genome: &Genome, gene: &str) -> Result<&'a str> {
    let i = space
        .gene_index(gene)
        .with_context(|| format!("space '{}' has no gene '{gene}'", space.name))?;
    Ok(space.option(genome, i))
}

impl Mlp {
    /// Builds the model of `genome`, taking or creating its parameters in `params` (prefix `net`).
    pub fn new(
        space: &SearchSpace,
        genome: &Genome,
        width: usize,
        params: &Params,
    ) -> Result<Self> {
        let p = params.pp("net");
        let stem = linear(&p.pp("stem"), INPUTS, width)?;
        let stem_act = Act::parse(option(space, genome, "stem.act")?)?;
        let mut layers = Vec::new();
        for i in 1..=layer_count(space) {
            let lp = p.pp(format!("l{i}"));
            let op = match option(space, genome, &format!("l{i}.op"))? {
                "identity" => Op::Identity,
                "linear" => Op::Linear(linear(&lp.pp("linear"), width, width)?),
                "residual" => Op::Residual(linear(&lp.pp("residual"), width, width)?),
                other => bail!("gene l{i}.op: unknown op '{other}'"),
            };
            layers.push((
                op,
                Act::parse(option(space, genome, &format!("l{i}.act"))?)?,
            ));
        }
        let head = linear(&p.pp("head"), width, 1)?;
        Ok(Self {
            stem,
            stem_act,
            layers,
            head,
        })
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = self.stem_act.apply(&self.stem.forward(x)?)?;
        for (op, act) in &self.layers {
            h = match op {
                Op::Identity => h,
                Op::Linear(l) => l.forward(&h)?,
                Op::Residual(l) => (&h + l.forward(&h)?)?,
            };
            h = act.apply(&h)?;
        }
        self.head.forward(&h)
    }
}
