//! Real data: Fashion-MNIST from Debian's `dataset-fashion-mnist` package, imported (checksums
//! of the decompressed files) and loaded. `.ci/run` installs the package and runs this with
//! `--ignored`; it fails if the package is missing.

#[test]
#[ignore = "needs `apt-get install dataset-fashion-mnist` (.ci/run does it)"]
fn debian_fashion_mnist_imports_and_loads() {
    let src = std::path::Path::new("/usr/share/datasets/fashion-mnist");
    let dir = tempfile::tempdir().unwrap();
    pbtnas_data::fetch::import("fashion-mnist", src, dir.path()).unwrap();
    let set = pbtnas_data::load("fashion-mnist", dir.path(), 32).unwrap();
    assert_eq!((set.len(), set.c, set.h, set.w), (60_000, 3, 32, 32));
    let labels = set.labels.unwrap();
    for k in 0..10u8 {
        assert_eq!(
            labels.iter().filter(|&&l| l == k).count(),
            6000,
            "class {k}"
        );
    }
    let test = pbtnas_data::idx::load(&dir.path().join("fashion-mnist"), false).unwrap();
    assert_eq!(test.len(), 10_000);
}
