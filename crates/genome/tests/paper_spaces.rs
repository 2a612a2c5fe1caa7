//! The paper's GAN spaces as declared in configs/spaces: gene counts, order, option lists and
//! sizes as docs/search-spaces.md ("Gan", "GanHard") gives them.

use pbtnas_genome::SearchSpace;

fn load(file: &str) -> SearchSpace {
    SearchSpace::from_file(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../configs/spaces")
            .join(file),
    )
    .unwrap()
}

#[test]
fn gan_hard_has_72_genes_in_the_papers_order() {
    let s = load("gan_hard.yaml");
    assert_eq!(s.len(), 72);
    let name = |i: usize| s.genes[i].name.as_str();
    assert_eq!(
        [name(0), name(2), name(3), name(6), name(10)],
        [
            "proj0.linear",
            "proj0.dropout",
            "proj1.if_enabled",
            "proj1.dropout",
            "proj2.dropout"
        ]
    );
    assert_eq!(
        [name(11), name(12), name(13), name(17), name(18), name(31)],
        [
            "cell1.up0",
            "cell1.up1",
            "cell1.c0",
            "cell1.c4",
            "cell2.up0",
            "cell3.c4"
        ]
    );
    assert_eq!(
        [name(32), name(34), name(35), name(39), name(40), name(41)],
        [
            "block1.c0",
            "block1.c2",
            "block1.c3",
            "block1.downsample",
            "block1.down0",
            "block1.down1"
        ]
    );
    assert_eq!(
        [name(42), name(48), name(49), name(62), name(71)],
        [
            "block2.c0",
            "block2.c6",
            "block2.downsample",
            "block4.c0",
            "block4.down1"
        ]
    );
    assert_eq!(s.genes[32].options.len(), 5, "block1 c0..c2 have no `none`");
    assert_eq!(s.genes[40].options[0], "avg_pool_input");
    // Genes that own no weights: if_enabled, up_mode, dropout, downsample.
    let weightless: Vec<&str> = s
        .genes
        .iter()
        .filter(|g| g.positions.is_empty())
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(weightless.len(), 2 + 3 * 2 + 4);
    assert!(weightless.iter().all(|n| n.ends_with("up_mode")
        || n.ends_with("dropout")
        || n.ends_with("if_enabled")
        || n.ends_with("downsample")));
    let expected = (6f64 * 2.0 * 3.0).log10()
        + 2.0 * (2f64 * 6.0 * 2.0 * 3.0).log10()
        + 3.0 * (9f64 * 7f64.powi(5)).log10()
        + (125f64 * 7f64.powi(4) * 2.0 * 64.0).log10()
        + 3.0 * (7f64.powi(7) * 2.0 * 64.0).log10();
    assert!((s.log10_size() - expected).abs() < 1e-9);
    assert!((s.log10_size() - 52.5).abs() < 0.1, "{}", s.log10_size());
}

#[test]
fn gan_has_21_generator_genes() {
    let s = load("gan.yaml");
    assert_eq!(s.len(), 21);
    assert!((s.log10_size() - (6.0 * 3f64.log10() + 15.0 * 7f64.log10())).abs() < 1e-9);
    assert!((s.log10_size() - 15.5).abs() < 0.1);
    assert!(s
        .genes
        .iter()
        .all(|g| g.positions.len() == 1 && g.positions[0].starts_with("gen.cell")));
}
