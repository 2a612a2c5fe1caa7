//! A resumed run must be the run saved in its directory: the stored identity against the config's.

use std::path::Path;

use anyhow::{bail, Result};

use crate::store::RunInfo;

pub(super) fn check_same_run(stored: &RunInfo, info: &RunInfo, dir: &Path) -> Result<()> {
    if stored.space_id != info.space_id {
        bail!(
            "run directory {} holds a run over another search space ({} vs {} now); use another run directory",
            dir.display(),
            stored.space_id,
            info.space_id
        );
    }
    if stored.config_json != info.config_json {
        let a: serde_json::Value = serde_json::from_str(&stored.config_json)?;
        let b: serde_json::Value = serde_json::from_str(&info.config_json)?;
        let mut diffs = Vec::new();
        diff_json("", &a, &b, &mut diffs);
        bail!(
            "run directory {} holds a run with another config ({}); continue it unchanged with `pbtnas run --resume {}`, or start a new run with another --run-dir",
            dir.display(),
            diffs.join("; "),
            dir.display()
        );
    }
    Ok(())
}

fn diff_json(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    match (a, b) {
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let null = serde_json::Value::Null;
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff_json(
                    &p,
                    x.get(k).unwrap_or(&null),
                    y.get(k).unwrap_or(&null),
                    out,
                );
            }
        }
        _ if a != b => out.push(format!("{path}: stored {a}, now {b}")),
        _ => {}
    }
}
