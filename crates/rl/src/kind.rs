//! The RL task's entry in the binary's list of tasks (`task.kind: rl`), with its final
//! evaluation: the best member's mean return over deterministic episodes, with a GIF of the
//! first, beside the paper's score.

use std::time::Instant;

use anyhow::Result;
use candle_core::Device;
use pbtnas_genome::SearchSpace;
use pbtnas_task::{AnyTask, BuildContext, EvalArgs, EvalMember, FinalEval, Task, TaskKind};

use crate::RlTask;

/// `kind: rl`.
pub struct Rl;

impl TaskKind for Rl {
    fn name(&self) -> &'static str {
        "rl"
    }

    fn default_space(&self) -> SearchSpace {
        RlTask::default_space()
    }

    fn build(
        &self,
        section: &serde_json::Value,
        space: SearchSpace,
        ctx: &BuildContext,
    ) -> Result<AnyTask> {
        let task = RlTask::new(section, space, ctx.device)?.with_population(ctx.population);
        Ok(AnyTask::new(task))
    }

    /// The mean return of `args.episodes` deterministic episodes and a GIF of the first
    /// (`eval.gif`), next to the paper's score: the best last fitness of the final population,
    /// not re-evaluated.
    fn final_eval(
        &self,
        section: &serde_json::Value,
        space: SearchSpace,
        device: &Device,
        member: EvalMember,
        args: &EvalArgs,
    ) -> Result<FinalEval> {
        let task = RlTask::new(section, space, device)?;
        let agent = task.load(member.genome, member.state.to_device(device)?)?;
        eprintln!("{} episodes", args.episodes);
        let started = Instant::now();
        let (returns, frames) =
            task.evaluate_returns(&agent, args.episodes.max(1), args.seed, true)?;
        let gif = member.run_dir.join("eval.gif");
        pbtnas_env::video::write_gif(&frames, &gif, 40)?;
        let n = returns.len() as f64;
        let mean = returns.iter().sum::<f64>() / n;
        let std = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
        let paper = member.final_best;
        let result = serde_json::json!({
            "return_mean": mean, "return_std": std, "returns": returns, "episodes": returns.len(),
            "paper_score": paper, "gif": gif, "seconds": started.elapsed().as_secs_f64(),
        });
        let line = format!(
            "return {mean:.1} ± {std:.1} over {} episodes, GIF {}; the paper's score (best last fitness of the final population) {paper:.1}",
            returns.len(),
            gif.display()
        );
        Ok(FinalEval {
            result,
            file: "eval.json".into(),
            line,
        })
    }
}
