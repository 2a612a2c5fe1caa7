//! A member's starting state, from its plan and inputs: the parent's state (or a fresh init),
//! then the transfer from the donor, then SEARL's weight mutation. The runner trains from it;
//! `pbtnas eval` rebuilds it for the SEARL best-ever quirk (an untrained child as the best).

use anyhow::{bail, Result};
use candle_core::Device;
use pbtnas_nn::{derive_seed, inherit, searl_weight_mutation_state, MemberState};

use crate::runner::purpose;
use crate::store::NewTrial;
use pbtnas_task::Task;
use pbtnas_task::WeightSource;

/// The state `spec`'s step starts from, on the CPU. `load` reads an input checkpoint by hash.
pub fn start_state<T: Task + ?Sized>(
    task: &T,
    spec: &NewTrial,
    load: &dyn Fn(&str) -> Result<MemberState>,
) -> Result<MemberState> {
    let plan = &spec.plan;
    task.space().validate(&plan.genome)?;
    let mut state = match &spec.parent_ckpt {
        Some(sha) => load(sha)?,
        None => task
            .fresh_state(
                &plan.genome,
                derive_seed(spec.train_seed, &[purpose::INIT_WEIGHTS]),
            )?
            .to_device(&Device::Cpu)?,
    };
    if let Some(transfer) = &plan.transfer {
        let fresh = task
            .fresh_state(
                &plan.genome,
                derive_seed(spec.train_seed, &[purpose::FRESH]),
            )?
            .to_device(&Device::Cpu)?;
        let donor = match (plan.donor, &spec.donor_ckpt) {
            (Some(WeightSource::Fresh), _) => fresh.clone(),
            (Some(WeightSource::Slot(_)), Some(sha)) => load(sha)?,
            (Some(WeightSource::Slot(s)), None) => bail!("donor slot {s} has no checkpoint"),
            (None, _) => bail!("a transfer without a donor"),
        };
        let transfer = transfer.resolve(task.shadows_in_model_state());
        state = inherit(&state, &donor, &fresh, &transfer)?;
        if task.child_data_from_donor() && matches!(plan.donor, Some(WeightSource::Slot(_))) {
            state.data = donor.data;
        }
    }
    if plan.weight_mutation {
        searl_weight_mutation_state(
            &mut state,
            task.shadows_in_model_state(),
            derive_seed(spec.train_seed, &[purpose::MUTATE]),
        )?;
    }
    Ok(state)
}
