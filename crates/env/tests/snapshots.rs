//! Rendered frames against checked-in PNGs (tests/snapshots/<task>.png, 84×84, first frame after
//! `reset(Some(0))`). A renderer change that moves more than a few pixels fails; regenerate on
//! purpose with `PBTNAS_UPDATE_SNAPSHOTS=1 cargo test -p pbtnas-env --test snapshots` and look
//! at the new images before committing them.

use std::path::PathBuf;

use pbtnas_env::video::{read_png, write_png};
use pbtnas_env::{DmcEnv, Env, TASKS};

#[test]
fn frames_match_snapshots() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let update = std::env::var_os("PBTNAS_UPDATE_SNAPSHOTS").is_some();
    for name in TASKS {
        let mut env = DmcEnv::new(name).unwrap();
        env.reset(Some(0)).unwrap();
        let img = env.render(84, 84);
        let path = dir.join(format!("{name}.png"));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            write_png(&img, &path).unwrap();
            continue;
        }
        let want = read_png(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (PBTNAS_UPDATE_SNAPSHOTS=1 writes it)",
                path.display()
            )
        });
        assert_eq!((want.width, want.height), (84, 84));
        let diffs: Vec<i32> = img
            .data
            .iter()
            .zip(&want.data)
            .map(|(&a, &b)| (a as i32 - b as i32).abs())
            .collect();
        let mean = diffs.iter().sum::<i32>() as f64 / diffs.len() as f64;
        let far = diffs.iter().filter(|&&d| d > 24).count() as f64 / diffs.len() as f64;
        assert!(
            mean < 1.0 && far < 0.01,
            "{name}: mean |diff| {mean:.2}, {:.1}% channels off by > 24",
            far * 100.0
        );
        // The frame is not blank: the body colour (.7 .5 .3 lit) appears somewhere.
        assert!(
            img.data.chunks(3).any(|p| p[0] > p[2] + 40),
            "{name}: no body pixels"
        );
    }
}
