use pbtnas_genome::{GenomeError, SearchSpace, SpaceError};

const SPACE: &str = r#"
name: test
option_sets:
  act: [relu, tanh, gelu]
genes:
  - name: stem.act
    options: act
  - block: cell
    for: { c: [a, b] }
    genes:
      - block: node
        for: { n: "0..2" }
        genes:
          - name: "{c}.n{n}.op"
            options: [none, conv3, conv5]
            positions: ["g.{c}.n{n}"]
      - name: "{c}.norm"
        options: [bn, none]
"#;

fn space() -> SearchSpace {
    SearchSpace::from_yaml(SPACE, "test.yaml").unwrap()
}

#[test]
fn blocks_expand_in_order_with_substitution() {
    let s = space();
    let names: Vec<&str> = s.genes.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        names,
        ["stem.act", "a.n0.op", "a.n1.op", "a.norm", "b.n0.op", "b.n1.op", "b.norm"]
    );
    assert_eq!(s.genes[2].positions, vec!["g.a.n1".to_string()]);
    assert!(s.genes[3].positions.is_empty());
    assert_eq!(s.genes[0].options, ["relu", "tanh", "gelu"]);
    assert_eq!(s.positions_of(&[1, 3, 5]), ["g.a.n0", "g.b.n1"]);
    // 3 * 3^4 * 2^2 = 972 architectures
    assert!((s.log10_size() - 972f64.log10()).abs() < 1e-12);
    assert_eq!(s.id.len(), 16);
}

#[test]
fn space_id_changes_with_content() {
    let other = SearchSpace::from_yaml(&SPACE.replace("conv5", "conv7"), "x.yaml").unwrap();
    assert_ne!(space().id, other.id);
    assert_eq!(space().id, space().id);
}

fn err(yaml: &str) -> String {
    SearchSpace::from_yaml(yaml, "bad.yaml")
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_spaces_give_errors_naming_file_and_gene() {
    let dup = "name: x\ngenes:\n  - {name: a, options: [p, q]}\n  - {name: a, options: [p]}\n";
    assert_eq!(err(dup), "bad.yaml: gene 'a' is declared twice");
    let empty = "name: x\ngenes:\n  - {name: a, options: []}\n";
    assert_eq!(err(empty), "bad.yaml: gene 'a' has an empty option list");
    let twice = "name: x\ngenes:\n  - {name: a, options: [p, p]}\n";
    assert_eq!(err(twice), "bad.yaml: gene 'a' lists option 'p' twice");
    let unknown_set = "name: x\noption_sets: {act: [r]}\ngenes:\n  - {name: a, options: ops}\n";
    assert_eq!(
        err(unknown_set),
        "bad.yaml: gene 'a' uses option set 'ops', which is not defined (defined: act)"
    );
    let shared = "name: x\ngenes:\n  - {name: a, options: [p], positions: [l1]}\n  - {name: b, options: [p], positions: [l1]}\n";
    assert_eq!(
        err(shared),
        "bad.yaml: position 'l1' is owned by both 'a' and 'b'"
    );
    let no_opts = "name: x\ngenes:\n  - {name: a}\n";
    assert_eq!(err(no_opts), "bad.yaml: gene 'a': missing 'options'");
    let bad_range = "name: x\ngenes:\n  - {block: b, for: {i: '3..1'}, genes: [{name: 'a{i}', options: [p]}]}\n";
    assert_eq!(
        err(bad_range),
        "bad.yaml: block 'b': 'for' range '3..1' is not of the form 'a..b' with a <= b"
    );
    assert!(err("name: x\ngenes: []\n").contains("declares no genes"));
    let typo = err("name: x\ngenez: []\n");
    assert!(
        typo.starts_with("bad.yaml: invalid YAML: unknown field `genez`"),
        "{typo}"
    );
    let missing = SearchSpace::from_file("/nonexistent/space.yaml").unwrap_err();
    assert!(matches!(missing, SpaceError::Io { .. }));
    assert!(missing
        .to_string()
        .starts_with("/nonexistent/space.yaml: cannot read"));
}

#[test]
fn genome_strings_round_trip_and_bad_ones_are_named() {
    let s = space();
    let g = s.genome(vec![2, 0, 1, 1, 2, 0, 0]).unwrap();
    let text = g.to_string();
    assert_eq!(text, format!("{}:2011200", &s.id[..8]));
    assert_eq!(s.parse_genome(&text).unwrap(), g);
    let long = s.describe(&g);
    assert_eq!(
        long,
        "stem.act=gelu,a.n0.op=none,a.n1.op=conv3,a.norm=none,b.n0.op=conv5,b.n1.op=none,b.norm=bn"
    );
    assert_eq!(s.parse_genome(&long).unwrap(), g);
    let json = serde_json::to_string(&g).unwrap();
    assert_eq!(
        serde_json::from_str::<pbtnas_genome::Genome>(&json).unwrap(),
        g
    );

    let id8 = &s.id[..8];
    assert_eq!(
        s.parse_genome(&format!("{id8}:201120")).unwrap_err(),
        GenomeError::WrongLength {
            space: "test".into(),
            expected: 7,
            got: 6
        }
    );
    assert_eq!(
        s.parse_genome(&format!("{id8}:2012200"))
            .unwrap_err()
            .to_string(),
        "gene 'a.norm' (#3): option index 2 out of range, the gene has 2 options"
    );
    assert!(matches!(
        s.parse_genome("deadbeef:2011200"),
        Err(GenomeError::WrongSpace { .. })
    ));
    assert_eq!(
        s.parse_genome(&long.replace("conv5", "conv9"))
            .unwrap_err()
            .to_string(),
        "gene 'b.n0.op': unknown option 'conv9' (options: none, conv3, conv5)"
    );
    assert_eq!(
        s.parse_genome(&long.replace("stem.act", "stem.ac"))
            .unwrap_err()
            .to_string(),
        "unknown gene 'stem.ac'"
    );
    assert!(s
        .parse_genome(&format!("{id8}:20!1200"))
        .unwrap_err()
        .to_string()
        .contains("'!' is not a base-36 digit"));
    assert!(matches!(
        s.genome(vec![0; 3]),
        Err(GenomeError::WrongLength { .. })
    ));
}

#[test]
fn large_option_indices_use_parentheses() {
    let opts: Vec<String> = (0..50).map(|i| format!("o{i}")).collect();
    let yaml = format!(
        "name: wide\ngenes:\n  - {{name: a, options: [{}]}}\n  - {{name: b, options: [x, y]}}\n",
        opts.join(", ")
    );
    let s = SearchSpace::from_yaml(&yaml, "wide.yaml").unwrap();
    let g = s.genome(vec![41, 1]).unwrap();
    assert!(g.to_string().ends_with(":(41)1"));
    assert_eq!(s.parse_genome(&g.to_string()).unwrap(), g);
}
