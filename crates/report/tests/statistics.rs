//! The Wilcoxon test and the TensorBoard writer against their reference implementations
//! (scipy.stats.wilcoxon and TensorBoard's own writer, via scripts/fixtures/report.py).

use pbtnas_report::tfevents::{crc32c, records, EventFile, WRITER};
use pbtnas_report::wilcoxon::{average_ranks, erfc, normal_sf, signed_rank, Alternative};
use serde_json::Value;

fn reference() -> Value {
    serde_json::from_str(include_str!("fixtures/reference.json")).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn wilcoxon_matches_scipy() {
    let r = reference();
    let cases = r["wilcoxon"].as_array().unwrap();
    assert_eq!(cases.len(), 15);
    for c in cases {
        let alt = match c["alternative"].as_str().unwrap() {
            "greater" => Alternative::Greater,
            "less" => Alternative::Less,
            _ => Alternative::TwoSided,
        };
        let got = signed_rank(&floats(&c["x"]), &floats(&c["y"]), alt).unwrap();
        let want = c["p_value"].as_f64().unwrap();
        assert!(
            (got.p_value - want).abs() <= 1e-12 * want.max(1e-3),
            "{} {:?}: p {} vs scipy {want} ({:?})",
            c["name"],
            alt,
            got.p_value,
            got.method
        );
        if alt != Alternative::TwoSided {
            assert_eq!(
                got.r_plus,
                c["statistic"].as_f64().unwrap(),
                "{}",
                c["name"]
            );
        }
    }
}

#[test]
fn ranks_and_normal_tail_are_exact() {
    assert_eq!(
        average_ranks(&[3.0, 1.0, 3.0, 2.0, 3.0]),
        vec![4.0, 1.0, 4.0, 2.0, 4.0]
    );
    assert_eq!(erfc(0.0), 1.0);
    assert!((normal_sf(1.959963984540054) - 0.025).abs() < 1e-15);
    assert!((erfc(3.0) - 2.209049699858544e-05).abs() < 1e-18);
    assert!((erfc(-1.0) - 1.842700792949715).abs() < 1e-15);
    assert!(signed_rank(&[1.0, 2.0], &[1.0, 2.0], Alternative::Greater).is_err());
    assert!(signed_rank(&[1.0], &[1.0, 2.0], Alternative::Greater).is_err());
}

#[test]
fn crc32c_is_castagnoli() {
    // The check value of CRC-32C.
    assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    assert_eq!(crc32c(b""), 0);
}

#[test]
fn event_file_is_byte_identical_to_tensorboards_writer() {
    let r = reference();
    let tb = &r["tensorboard"];
    let mut f = EventFile::new(tb["start"].as_f64().unwrap());
    for s in tb["scalars"].as_array().unwrap() {
        f.scalar(
            s["tag"].as_str().unwrap(),
            s["step"].as_i64().unwrap(),
            s["wall_time"].as_f64().unwrap(),
            s["value"].as_f64().unwrap() as f32,
        );
    }
    let hex = tb["file_hex"].as_str().unwrap();
    let theirs: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let ours = records(f.bytes()).unwrap();
    let theirs = records(&theirs).unwrap();
    assert_eq!(ours.len(), 5);
    // The scalar events are byte-identical.
    assert_eq!(ours[1..], theirs[1..]);
    // The version event differs only in the writer it names.
    let version = |writer: &str| {
        let mut e = vec![0x09];
        e.extend_from_slice(&1_700_000_000.0f64.to_le_bytes());
        e.extend_from_slice(b"\x1a\x0dbrain.Event:2\x52");
        e.extend_from_slice(&[writer.len() as u8 + 2, 0x0a, writer.len() as u8]);
        e.extend_from_slice(writer.as_bytes());
        e
    };
    assert_eq!(ours[0], version(WRITER));
    let mut cut = f.bytes().to_vec();
    cut[30] ^= 1;
    assert!(records(&cut).is_err(), "a flipped bit is caught");
    assert!(
        records(&f.bytes()[..f.bytes().len() - 3]).is_err(),
        "a truncated file is caught"
    );
    assert_eq!(
        theirs[0],
        version("tensorboard.summary.writer.event_file_writer")
    );
}

#[test]
fn sync_appends_to_a_growing_file_and_rewrites_a_changed_one() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("run/events.out.tfevents.0.pbtnas");
    let mut f = EventFile::new(1.0);
    f.scalar("a", 1, 2.0, 0.5);
    f.sync(&path).unwrap();
    let inode =
        |p: &std::path::Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    let first = inode(&path);
    f.scalar("a", 2, 3.0, 0.25);
    f.sync(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), f.bytes());
    assert_eq!(
        inode(&path),
        first,
        "a growing file is appended to in place"
    );
    let mut g = EventFile::new(1.0);
    g.scalar("b", 1, 2.0, 1.0);
    g.sync(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), g.bytes());
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file is left behind");
}
