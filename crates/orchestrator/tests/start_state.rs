//! A member's start state, on the task API's toy task: a PBT-NAS child is its parent's state with,
//! at the replaced positions, 0.4 × the donor's weights + 0.1 × a fresh init of its own genome;
//! the ablations' rules (copy exactly, reinitialise) at the same positions; a fresh member.

use std::time::Duration;

use pbtnas_nn::{MemberState, ShadowRule, ShrinkPerturb, Transfer};
use pbtnas_orchestrator::start_state::start_state;
use pbtnas_orchestrator::store::NewTrial;
use pbtnas_orchestrator::{PlanKind, SlotPlan, Task, WeightSource};
use pbtnas_task::toy::{Toy, ToyTask};
use pbtnas_task::TaskKind;

fn task() -> ToyTask {
    ToyTask {
        space: Toy.default_space(),
        step: Duration::ZERO,
        width: 8,
    }
}

/// Slot 0 of generation 1: gene `b` (position `net.b`) from the donor under `rule`.
fn child(task: &ToyTask, rule: ShrinkPerturb, parent: Option<&str>) -> NewTrial {
    NewTrial {
        generation: 1,
        slot: 0,
        plan: SlotPlan {
            slot: 0,
            genome: task.space.genome(vec![1, 2, 0]).unwrap(),
            kind: PlanKind::Child,
            parent: parent.map(|_| 0),
            donor: Some(WeightSource::Slot(1)),
            replaced: vec![1],
            transfer: Some(Transfer {
                positions: vec!["net.b".into()],
                rule,
                shadows: ShadowRule::CopyDonor,
                reset_optimizer: true,
            }),
            weight_mutation: false,
        },
        origin: vec![0, 1, 0],
        parent_ckpt: parent.map(String::from),
        donor_ckpt: Some("donor".into()),
        train_seed: 77,
    }
}

fn values(state: &MemberState, name: &str) -> Vec<f32> {
    state.weights[name].to_vec1().unwrap()
}

#[test]
fn a_child_mixes_its_parent_with_the_shrink_perturbed_donor() {
    let task = task();
    let parent = task
        .save(
            &task
                .init(&task.space.genome(vec![1, 2, 0]).unwrap(), 1)
                .unwrap(),
        )
        .unwrap();
    let donor = task
        .save(
            &task
                .init(&task.space.genome(vec![0, 2, 1]).unwrap(), 2)
                .unwrap(),
        )
        .unwrap();
    let load = |sha: &str| -> anyhow::Result<MemberState> {
        Ok(match sha {
            "parent" => parent.clone(),
            "donor" => donor.clone(),
            other => anyhow::bail!("no checkpoint {other}"),
        })
    };
    let start = |rule| start_state(&task, &child(&task, rule, Some("parent")), &load).unwrap();
    let paper = start(ShrinkPerturb::PAPER);
    let reinit = start(ShrinkPerturb::REINIT);
    let copy = start(ShrinkPerturb::COPY);
    // Positions the child keeps are its parent's, exactly.
    for name in ["net.a.weight", "net.c1.weight", "net.c2.weight"] {
        for s in [&paper, &reinit, &copy] {
            assert_eq!(values(s, name), values(&parent, name), "{name}");
        }
    }
    // At net.b: the donor's (copy), a fresh init (reinit), and 0.4 · donor + 0.1 · that init.
    let b = "net.b.weight";
    assert_eq!(values(&copy, b), values(&donor, b));
    assert_ne!(values(&reinit, b), values(&donor, b));
    assert_ne!(values(&reinit, b), values(&parent, b));
    let expected = (donor.weights[b].affine(0.4, 0.0).unwrap()
        + reinit.weights[b].affine(0.1, 0.0).unwrap())
    .unwrap();
    let diff = (&paper.weights[b] - &expected)
        .unwrap()
        .abs()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(diff < 1e-6, "{diff}");
    // The same inputs and seed give the same state.
    let again = start(ShrinkPerturb::PAPER);
    assert_eq!(values(&again, b), values(&paper, b));
}

#[test]
fn a_member_without_a_parent_starts_from_a_seeded_fresh_init() {
    let task = task();
    let load = |_: &str| -> anyhow::Result<MemberState> {
        Ok(task
            .save(
                &task
                    .init(&task.space.genome(vec![0, 0, 0]).unwrap(), 3)
                    .unwrap(),
            )
            .unwrap())
    };
    let spec = child(&task, ShrinkPerturb::COPY, None);
    let a = start_state(&task, &spec, &load).unwrap();
    let b = start_state(&task, &spec, &load).unwrap();
    for name in ["net.a.weight", "net.c1.weight"] {
        assert_eq!(values(&a, name), values(&b, name));
    }
    let other = NewTrial {
        train_seed: 78,
        ..spec
    };
    let c = start_state(&task, &other, &load).unwrap();
    assert_ne!(values(&a, "net.a.weight"), values(&c, "net.a.weight"));
}
