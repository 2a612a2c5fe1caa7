use pbtnas_env::rewards::{tolerance, Sigmoid};
use pbtnas_env::wrappers::{ActionRepeat, ActionScale, FrameStack, Pixels, TimeLimit};
use pbtnas_env::{pixel_env, DmcEnv, Env, EnvError, Space};
use serde_json::Value;

#[test]
fn tolerance_matches_the_formulas() {
    let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    // Inside the bounds: 1; margin 0 outside: 0.
    close(tolerance(0.3, (0.0, 0.5), 0.0, Sigmoid::Gaussian, 0.1), 1.0);
    close(tolerance(0.6, (0.0, 0.5), 0.0, Sigmoid::Gaussian, 0.1), 0.0);
    // One margin away every sigmoid gives value_at_margin.
    for s in [
        Sigmoid::Gaussian,
        Sigmoid::Linear,
        Sigmoid::Quadratic,
        Sigmoid::Hyperbolic,
        Sigmoid::LongTail,
        Sigmoid::Reciprocal,
        Sigmoid::Cosine,
        Sigmoid::TanhSquared,
    ] {
        close(tolerance(3.0, (0.0, 1.0), 2.0, s, 0.3), 0.3);
        close(tolerance(-2.0, (0.0, 1.0), 2.0, s, 0.3), 0.3);
    }
    // Half a margin away, by hand: gaussian exp(-0.5 (0.5 s)^2), s^2 = -2 ln 0.1.
    close(
        tolerance(1.5, (0.0, 1.0), 1.0, Sigmoid::Gaussian, 0.1),
        (-0.125 * -2.0 * 0.1f64.ln()).exp(),
    );
    close(tolerance(1.5, (0.0, 1.0), 1.0, Sigmoid::Linear, 0.5), 0.75);
    close(
        tolerance(1.5, (0.0, 1.0), 1.0, Sigmoid::Quadratic, 0.0),
        0.75,
    );
    close(
        tolerance(1.5, (0.0, 1.0), 1.0, Sigmoid::Reciprocal, 0.5),
        1.0 / 1.5,
    );
    close(tolerance(1.5, (0.0, 1.0), 1.0, Sigmoid::LongTail, 0.5), 0.8);
    // Linear and quadratic with v = 0 reach 0 at one margin and stay there.
    close(tolerance(9.0, (0.0, 1.0), 1.0, Sigmoid::Linear, 0.0), 0.0);
    // cartpole's small_control at u = 1: (4 + 0) / 5
    close(
        (4.0 + tolerance(1.0, (0.0, 0.0), 1.0, Sigmoid::Quadratic, 0.0)) / 5.0,
        0.8,
    );
}

#[test]
fn bad_actions_are_errors_or_clipped_never_panics() {
    let mut env = DmcEnv::new("cartpole_swingup").unwrap();
    assert_eq!(env.step(&[0.0]).unwrap_err(), EnvError::NeedsReset);
    env.reset(Some(1)).unwrap();
    assert_eq!(
        env.step(&[0.0, 1.0]).unwrap_err(),
        EnvError::ActionShape {
            expected: 1,
            got: 2
        }
    );
    assert_eq!(
        env.step(&[f32::NAN]).unwrap_err().to_string(),
        "action value 0 is NaN: actions must be finite"
    );
    // Out of range is clipped: 5.0 acts like 1.0.
    let mut a = DmcEnv::new("cartpole_swingup").unwrap();
    let mut b = DmcEnv::new("cartpole_swingup").unwrap();
    a.reset(Some(3)).unwrap();
    b.reset(Some(3)).unwrap();
    assert_eq!(a.step(&[5.0]).unwrap(), b.step(&[1.0]).unwrap());
    assert!(matches!(
        DmcEnv::new("walker_run"),
        Err(EnvError::UnknownTask(..))
    ));
}

#[test]
fn episodes_are_1000_steps_and_seeded() {
    for name in pbtnas_env::TASKS {
        let mut env = DmcEnv::new(name).unwrap();
        let (o1, _) = env.reset(Some(5)).unwrap();
        let mut steps = 0;
        loop {
            let s = env.step(&vec![0.3; env.action_space().size()]).unwrap();
            steps += 1;
            if s.truncated || s.terminated {
                assert!(s.truncated && !s.terminated, "{name} ends by truncation");
                break;
            }
        }
        assert_eq!(steps, 1000, "{name}");
        assert_eq!(
            env.reset(Some(5)).unwrap().0,
            o1,
            "{name}: same seed, same start"
        );
        assert_ne!(
            env.reset(Some(6)).unwrap().0,
            o1,
            "{name}: other seed, other start"
        );
    }
}

#[test]
fn wrappers_compose_like_drqv2() {
    // Action repeat 2 sums the two inner rewards.
    let mut inner = DmcEnv::new("cartpole_balance").unwrap();
    let mut rep = ActionRepeat::new(DmcEnv::new("cartpole_balance").unwrap(), 2);
    inner.reset(Some(9)).unwrap();
    rep.reset(Some(9)).unwrap();
    let r = inner.step(&[0.5]).unwrap().reward + inner.step(&[0.5]).unwrap().reward;
    let s = rep.step(&[0.5]).unwrap();
    assert!((s.reward - r).abs() < 1e-12);
    assert_eq!(s.info.steps, 2);
    // Action scale maps [-1, 1] onto the bounds (identity here) and checks the length.
    let mut sc = ActionScale {
        env: DmcEnv::new("reacher_easy").unwrap(),
    };
    sc.reset(Some(0)).unwrap();
    assert_eq!(sc.action_space(), Space::uniform_box(2, -1.0, 1.0));
    assert!(sc.step(&[0.0]).is_err());
    // Pixels + frame stack: u8 [9, 84, 84]; at reset the first frame is repeated.
    let mut env = pixel_env("cartpole_swingup", 2, 84, 3).unwrap();
    assert_eq!(env.observation_space(), Space::Image { shape: [9, 84, 84] });
    let (obs, _) = env.reset(Some(0)).unwrap();
    assert_eq!(obs.len(), 9 * 84 * 84);
    let plane = 3 * 84 * 84;
    assert_eq!(obs[..plane], obs[plane..2 * plane]);
    assert_eq!(obs[..plane], obs[2 * plane..]);
    let mut agent_steps = 0;
    let mut last = obs.clone();
    loop {
        let s = env.step(&[1.0]).unwrap();
        agent_steps += 1;
        // The stack shifts: the old newest frame is now in the middle.
        assert_eq!(s.obs[plane..2 * plane], last[2 * plane..]);
        last = s.obs;
        if s.truncated {
            break;
        }
    }
    assert_eq!(agent_steps, 500, "1000 control steps at action repeat 2");
    // Time limit truncates earlier.
    let mut tl = TimeLimit::new(
        FrameStack::new(
            Pixels {
                env: DmcEnv::new("pendulum_swingup").unwrap(),
                width: 8,
                height: 8,
            },
            2,
        ),
        3,
    );
    tl.reset(None).unwrap();
    assert!(!tl.step(&[0.0]).unwrap().truncated);
    assert!(!tl.step(&[0.0]).unwrap().truncated);
    assert!(tl.step(&[0.0]).unwrap().truncated);
}

#[test]
fn random_policy_returns_match_dm_control() {
    use rand::{Rng, SeedableRng};
    let fx: Value = serde_json::from_str(include_str!("fixtures/dmc_trajectories.json")).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for r in fx["random_policy"].as_array().unwrap() {
        let name = r["task"].as_str().unwrap();
        let theirs: Vec<f64> = r["returns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let mut env = DmcEnv::new(name).unwrap();
        let n = env.action_space().size();
        let ours: Vec<f64> = (0..30)
            .map(|e| {
                env.reset(Some(100 + e)).unwrap();
                let mut total = 0.0;
                loop {
                    let a: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
                    let s = env.step(&a).unwrap();
                    total += s.reward;
                    if s.truncated {
                        return total;
                    }
                }
            })
            .collect();
        let stats = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (
                m,
                (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt(),
            )
        };
        let ((mo, so), (mt, st)) = (stats(&ours), stats(&theirs));
        let se = (so * so / ours.len() as f64 + st * st / theirs.len() as f64).sqrt();
        assert!(
            (mo - mt).abs() <= 3.0 * se + 2.0,
            "{name}: ours {mo:.1}±{so:.1}, dm_control {mt:.1}±{st:.1}"
        );
    }
}

#[test]
fn task_rewards_by_hand_at_known_states() {
    use pbtnas_env::tasks::{task, ControlTask, Reacher};
    let pi = std::f64::consts::PI;
    // Cartpole: upright, centred, still, no control -> every factor 1.
    let mut c = task("cartpole_swingup").unwrap();
    c.set_state(&[0.0, 0.0], &[0.0, 0.0]);
    assert!((c.reward() - 1.0).abs() < 1e-12);
    // Hanging down: upright = (cos π + 1)/2 = 0.
    c.set_state(&[0.0, pi], &[0.0, 0.0]);
    assert!(c.reward().abs() < 1e-12);
    // Cart at one margin (x = 2): centered = (1 + 0.1)/2; pole horizontal: upright 1/2.
    c.set_state(&[2.0, pi / 2.0], &[0.0, 0.0]);
    assert!((c.reward() - 0.5 * 0.55).abs() < 1e-9, "{}", c.reward());
    // Pendulum: 1 within 8° of upright, 0 beyond.
    let mut p = task("pendulum_swingup").unwrap();
    p.set_state(&[7.9f64.to_radians()], &[0.0]);
    assert_eq!(p.reward(), 1.0);
    p.set_state(&[8.1f64.to_radians()], &[0.0]);
    assert_eq!(p.reward(), 0.0);
    // Reacher: the finger at q = 0 is at (0.24, 0); a target within .06 of it pays 1.
    let mut r = Reacher::new(0.05);
    r.set_state(&[0.0, 0.0], &[0.0, 0.0]);
    r.set_target([0.24 + 0.059, 0.0]);
    assert_eq!(r.reward(), 1.0);
    r.set_target([0.24 + 0.061, 0.0]);
    assert_eq!(r.reward(), 0.0);
}

#[test]
fn vector_env_steps_envs_in_parallel_like_single_ones() {
    use pbtnas_env::vector::VecEnv;
    let mut venv = VecEnv {
        envs: (0..4)
            .map(|_| DmcEnv::new("pendulum_swingup").unwrap())
            .collect(),
    };
    let starts = venv.reset(Some(10)).unwrap();
    let actions: Vec<Vec<f32>> = (0..4).map(|i| vec![i as f32 / 4.0]).collect();
    let steps = venv.step(&actions).unwrap();
    for i in 0..4 {
        let mut single = DmcEnv::new("pendulum_swingup").unwrap();
        assert_eq!(single.reset(Some(10 + i as u64)).unwrap().0, starts[i].0);
        assert_eq!(single.step(&actions[i]).unwrap(), steps[i]);
    }
    assert!(venv.step(&actions[..3]).is_err());
}
