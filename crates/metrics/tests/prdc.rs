//! Precision, recall, density and coverage against the reference implementations
//! (`scripts/fixtures/prdc.py`: the `prdc` package and torch-fidelity's precision/recall) on
//! fixed feature sets: one from the real distribution, a mode-collapsed one, a shifted one.

use pbtnas_metrics::{prdc, PrdcOptions};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// The fixture's feature sets (name, row-major values).
fn sets() -> Vec<(String, Vec<f32>)> {
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURES}/prdc.json")).unwrap())
            .unwrap();
    fixture["features"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, f)| {
            let values: Vec<f32> = f["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            (k.clone(), values)
        })
        .collect()
}

#[test]
fn scores_match_prdc_and_torch_fidelity() {
    let sets = sets();
    let get = |name: &str| &sets.iter().find(|(k, _)| k == name).unwrap().1;
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURES}/prdc.json")).unwrap())
            .unwrap();
    let real = get("real");
    for (name, want) in fixture["cases"].as_object().unwrap() {
        let got = prdc(real, get(name), 16, PrdcOptions::default()).unwrap();
        let close = |what: &str, g: f64, w: &Value| {
            let w = w.as_f64().unwrap();
            assert!((g - w).abs() < 1e-6, "{name} {what}: {g} vs reference {w}");
        };
        for reference in ["prdc_k3", "torch_fidelity_k3"] {
            close("precision", got.precision, &want[reference]["precision"]);
            close("recall", got.recall, &want[reference]["recall"]);
        }
        close("density", got.density, &want["prdc_k5"]["density"]);
        close("coverage", got.coverage, &want["prdc_k5"]["coverage"]);
    }
    // The collapsed set: every sample is realistic, almost nothing of the real set is covered.
    let collapsed = prdc(real, get("collapsed"), 16, PrdcOptions::default()).unwrap();
    assert_eq!(collapsed.precision, 1.0);
    assert!(
        collapsed.recall < 0.05 && collapsed.coverage < 0.3,
        "{collapsed:?}"
    );
}

#[test]
fn a_set_against_itself_is_fully_precise_and_covered() {
    let sets = sets();
    let real = &sets.iter().find(|(k, _)| k == "real").unwrap().1;
    let s = prdc(real, real, 16, PrdcOptions::default()).unwrap();
    assert_eq!((s.precision, s.recall, s.coverage), (1.0, 1.0, 1.0));
    // Ball i holds strictly the sample and its k − 1 nearest neighbours (no ties): k per ball,
    // k·n in all, so the density is exactly 1.
    assert_eq!(s.density, 1.0);
}

#[test]
fn too_few_samples_for_the_neighbourhood_are_refused() {
    let x = vec![0.0f32; 5 * 2];
    let e = prdc(&x, &x, 2, PrdcOptions::default()).unwrap_err();
    assert!(e.to_string().contains("more than 5 samples"), "{e}");
}
