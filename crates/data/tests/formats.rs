//! Loaders on small files written here in the official formats (docs/metrics.md,
//! "Test fixtures").

use std::io::Write;
use std::path::Path;

use pbtnas_data::fetch::{verify, Source};
use pbtnas_data::{cifar, idx, sprites, stl10, DataError, ImageSet, Prefetcher};

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn cifar_binary_records_decode_to_chw_with_labels() {
    let dir = tempfile::tempdir().unwrap();
    let px = |i: usize, c: usize, y: usize, x: usize| ((i * 7 + c * 50 + y * 3 + x) % 256) as u8;
    let mut bytes = Vec::new();
    for i in 0..12 {
        bytes.push((i % 10) as u8);
        for c in 0..3 {
            for y in 0..32 {
                for x in 0..32 {
                    bytes.push(px(i, c, y, x));
                }
            }
        }
    }
    write(&dir.path().join("test_batch.bin"), &bytes);
    let set = cifar::load(dir.path(), false).unwrap();
    assert_eq!((set.len(), set.c, set.h, set.w), (12, 3, 32, 32));
    assert_eq!(set.labels.as_ref().unwrap()[11], 1);
    assert_eq!(set.image(5)[(2 * 32 + 7) * 32 + 9], px(5, 2, 7, 9));
    // [-1, 1] scaling
    let b = set.batch_f32(&[0]);
    assert_eq!(b[0], 0.0 / 127.5 - 1.0);
    // A truncated file is an error naming it, not a panic.
    write(
        &dir.path().join("test_batch.bin"),
        &bytes[..bytes.len() - 5],
    );
    let e = cifar::load(dir.path(), false).unwrap_err().to_string();
    assert!(
        e.contains("test_batch.bin") && e.contains("not a whole number of 3,073-byte"),
        "{e}"
    );
    let e = cifar::load(dir.path(), true).unwrap_err().to_string();
    assert!(e.contains("data_batch_1.bin"), "{e}");
}

#[test]
fn stl10_planes_are_column_major_and_labels_shift() {
    let dir = tempfile::tempdir().unwrap();
    let f = |c: usize, y: usize, x: usize| ((y * 2 + x * 5 + c * 40) % 256) as u8;
    let n = 3;
    let mut x_bin = vec![0u8; n * 3 * 96 * 96];
    for i in 0..n {
        for c in 0..3 {
            for y in 0..96 {
                for x in 0..96 {
                    x_bin[i * 27648 + c * 9216 + x * 96 + y] = f(c, y, x).wrapping_add(i as u8);
                }
            }
        }
    }
    write(&dir.path().join("train_X.bin"), &x_bin);
    write(&dir.path().join("train_y.bin"), &[1, 10, 4]);
    let set = stl10::load(dir.path(), stl10::Split::Train, false).unwrap();
    assert_eq!((set.len(), set.h), (3, 96));
    assert_eq!(set.labels.as_deref(), Some(&[0u8, 9, 3][..]));
    for (c, y, x) in [(0, 1, 2), (2, 50, 3), (1, 95, 0)] {
        assert_eq!(
            set.image(1)[(c * 96 + y) * 96 + x],
            f(c, y, x).wrapping_add(1),
            "pixel (row {y}, col {x})"
        );
    }
    let half = stl10::load(dir.path(), stl10::Split::Train, true).unwrap();
    assert_eq!((half.h, half.w, half.len()), (48, 48, 3));
    write(&dir.path().join("train_y.bin"), &[1, 11, 4]);
    assert!(stl10::load(dir.path(), stl10::Split::Train, false)
        .unwrap_err()
        .to_string()
        .contains("label 11 out of range"));
    write(&dir.path().join("unlabeled_X.bin"), &x_bin[..1000]);
    assert!(matches!(
        stl10::load(dir.path(), stl10::Split::Unlabeled, true),
        Err(DataError::Format { .. })
    ));
}

#[test]
fn halving_uses_the_1331_filter_with_border_renormalisation() {
    // One row of 4 pixels, 1 channel, height 2 (identical rows): output column 0 uses taps at
    // -1 (outside), 0, 1, 2 with weights 3,3,1 / 7; column 1 uses 1,2,3 (and 4 outside): 1,3,3 / 7.
    let row = [0u8, 70, 140, 210];
    let img: Vec<u8> = row.iter().chain(row.iter()).copied().collect();
    let out = stl10::halve(&img, 1, 2, 4);
    let c0 = ((3.0 * 0.0 + 3.0 * 70.0 + 1.0 * 140.0) / 7.0f32).round() as u8;
    let c1 = ((1.0 * 70.0 + 3.0 * 140.0 + 3.0 * 210.0) / 7.0f32).round() as u8;
    assert_eq!(out, vec![c0, c1]);
    assert_eq!((c0, c1), (50, 160));
}

fn idx_images(n: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 3];
    for v in [n, rows, cols] {
        b.extend(v.to_be_bytes());
    }
    b.extend((0..n * rows * cols).map(|i| (i % 251) as u8));
    b
}

#[test]
fn idx_reads_raw_and_gzip_and_rejects_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let images = idx_images(5, 28, 28);
    let mut labels = vec![0, 0, 8, 1];
    labels.extend(5u32.to_be_bytes());
    labels.extend([3, 1, 4, 1, 5]);
    write(&dir.path().join("t10k-images-idx3-ubyte"), &images);
    write(&dir.path().join("t10k-labels-idx1-ubyte.gz"), &gz(&labels));
    let set = idx::load(dir.path(), false).unwrap();
    assert_eq!((set.len(), set.c, set.h, set.w), (5, 1, 28, 28));
    assert_eq!(set.labels.as_deref(), Some(&[3u8, 1, 4, 1, 5][..]));
    assert_eq!(set.image(1)[0], (784 % 251) as u8);
    // Padded to 32×32 RGB for the CIFAR-sized models.
    let rgb = set.pad(2).to_rgb();
    assert_eq!((rgb.c, rgb.h, rgb.w), (3, 32, 32));
    assert_eq!(rgb.image(0)[0], 0);
    assert_eq!(rgb.image(0)[2 * 32 + 2], set.image(0)[0]);
    assert_eq!(rgb.image(0)[1024 + 2 * 32 + 3], set.image(0)[1]);
    let mut bad = images.clone();
    bad[3] = 1;
    write(&dir.path().join("x"), &bad);
    assert!(idx::read(&dir.path().join("x"), None)
        .unwrap_err()
        .to_string()
        .contains("IDX magic 0x00000801, expected 0x00000803"));
    write(&dir.path().join("x"), &images[..images.len() - 1]);
    assert!(idx::read(&dir.path().join("x"), None)
        .unwrap_err()
        .to_string()
        .contains("truncated"));
    write(&dir.path().join("x"), &gz(&images)[..40]);
    assert!(idx::read(&dir.path().join("x"), None)
        .unwrap_err()
        .to_string()
        .contains("corrupt gzip"));
}

#[test]
fn image_folders_load_at_a_chosen_size() {
    let dir = tempfile::tempdir().unwrap();
    for (i, color) in [[255u8, 0, 0], [0, 0, 255]].iter().enumerate() {
        image::RgbImage::from_pixel(20, 10, image::Rgb(*color))
            .save(dir.path().join(format!("{i}.png")))
            .unwrap();
    }
    let set = pbtnas_data::load(
        &format!("folder:{}", dir.path().display()),
        Path::new("."),
        16,
    )
    .unwrap();
    assert_eq!((set.len(), set.h, set.w), (2, 16, 16));
    assert_eq!((set.image(0)[0], set.image(0)[256 * 2]), (255, 0));
    assert_eq!(set.image(1)[256 * 2 + 5], 255);
    let empty = tempfile::tempdir().unwrap();
    assert!(pbtnas_data::folder::load(empty.path(), 8)
        .unwrap_err()
        .to_string()
        .contains("no .png/.jpg/.jpeg"));
}

#[test]
fn missing_datasets_say_how_to_get_them() {
    let dir = tempfile::tempdir().unwrap();
    let e = pbtnas_data::load("cifar10", dir.path(), 32)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("pbtnas data fetch cifar10") && e.contains("pbtnas data import cifar10"),
        "{e}"
    );
    assert!(pbtnas_data::load("imagenet", dir.path(), 32)
        .unwrap_err()
        .to_string()
        .contains("unknown dataset 'imagenet'"));
}

#[test]
fn checksums_accept_official_or_decompressed_digests() {
    let dir = tempfile::tempdir().unwrap();
    let content = b"hello idx";
    let path = dir.path().join("f.gz");
    write(&path, &gz(content));
    use sha2::{Digest, Sha256};
    let inner: String = Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let leaked: &'static str = Box::leak(inner.into_boxed_str());
    let src = Source {
        url: "",
        file: "f.gz",
        md5: "0",
        sha256: Some(leaked),
    };
    verify(&path, &src).unwrap();
    let wrong = Source {
        sha256: Some("00"),
        ..src
    };
    let e = verify(&path, &wrong).unwrap_err();
    assert!(matches!(e, DataError::Checksum { .. }), "{e}");
    // Importing a non-official file is refused with the checksum error.
    write(
        &dir.path().join("cifar-10-binary.tar.gz"),
        b"not the archive",
    );
    let e = pbtnas_data::fetch::import(
        "cifar10",
        &dir.path().join("cifar-10-binary.tar.gz"),
        dir.path(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("checksum mismatch"), "{e}");
}

/// `shapes`: the corner pixels are background (below 0.1 · 255 in every channel) and the
/// centre pixel is the shape (at least 0.4 · 255 in every channel) in every image.
#[test]
fn shapes_are_centred_bright_shapes_on_a_dark_background() {
    let s = sprites::generate_style(200, 16, 7, sprites::Style::Shapes);
    let loaded = pbtnas_data::load("shapes", std::path::Path::new("none"), 16).unwrap();
    assert_eq!(s.data[..], loaded.data[..s.data.len()]);
    for i in 0..s.len() {
        let img = s.image(i);
        let px = |c: usize, y: usize, x: usize| img[c * 256 + y * 16 + x];
        for c in 0..3 {
            assert!(
                px(c, 0, 0) <= 26 && px(c, 15, 15) <= 26,
                "image {i}: corner"
            );
            assert!(px(c, 8, 8) >= 102, "image {i}: centre");
        }
    }
    // The sprites style is unchanged by the second style (the first image's first pixels).
    assert_eq!(
        sprites::generate(1, 4, 7).data,
        sprites::generate_style(1, 4, 7, sprites::Style::Sprites).data
    );
}

#[test]
fn sprites_are_seeded_labelled_and_prefetched() {
    let a = sprites::generate(64, 32, 1);
    assert_eq!(a, sprites::generate(64, 32, 1));
    assert_ne!(a, sprites::generate(64, 32, 2));
    let labels = a.labels.as_ref().unwrap();
    for k in 0..4u8 {
        assert!(
            labels.iter().filter(|&&l| l == k).count() > 5,
            "every shape appears"
        );
    }
    // Batches: 16 images of 3×32×32 in [-1, 1], different from batch to batch.
    let p = Prefetcher::new(std::sync::Arc::new(a), 16, 0, 2, false);
    let (b1, b2) = (p.next_batch(), p.next_batch());
    assert_eq!(b1.len(), 16 * 3 * 32 * 32);
    assert!(b1.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert_ne!(b1, b2);
    // With the short last batch (PyTorch's DataLoader): 40 images in batches of 16, 16, 8.
    let p = Prefetcher::new(
        std::sync::Arc::new(sprites::generate(40, 8, 3)),
        16,
        0,
        2,
        true,
    );
    let sizes: Vec<usize> = (0..6).map(|_| p.next_batch().len() / (3 * 8 * 8)).collect();
    assert_eq!(sizes, [16, 16, 8, 16, 16, 8]);
    let both = ImageSet::concat(vec![sprites::generate(2, 8, 0), sprites::generate(3, 8, 0)]);
    assert_eq!((both.len(), both.labels.map(|l| l.len())), (5, Some(5)));
}
