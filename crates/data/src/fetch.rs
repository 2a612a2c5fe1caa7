//! Getting datasets into a data directory: `fetch` downloads from the official sources (for
//! users with internet; never run by tests or CI) and `import` copies from a local archive or
//! folder; both verify the checksums below (docs/metrics.md, "Datasets").

use std::io::Read;
use std::path::{Path, PathBuf};

use md5::{Digest as _, Md5};
use sha2::Sha256;

use crate::error::{DataError, Result};

/// One downloadable file with its expected digests.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    pub url: &'static str,
    pub file: &'static str,
    pub md5: &'static str,
    /// SHA-256 of the decompressed content (IDX) or of the archive, when known.
    pub sha256: Option<&'static str>,
}

/// The sources of a dataset name.
pub fn sources(name: &str) -> Result<Vec<Source>> {
    Ok(match name {
        "cifar10" => vec![Source {
            url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
            file: "cifar-10-binary.tar.gz",
            md5: "c32a1d4ab5d03f1284b67883e8d87530",
            sha256: Some("c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"),
        }],
        "stl10" => vec![Source {
            url: "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
            file: "stl10_binary.tar.gz",
            md5: "91f7769df0f17e558f3565bffb0c7dfb",
            sha256: None,
        }],
        "fashion-mnist" => idx_sources(
            true,
            [
                (
                    "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                    "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                ),
                (
                    "25c81989df183df01b3e8a0aad5dffbe",
                    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                ),
                (
                    "bef4ecab320f06d8554ea6380940ec79",
                    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                ),
                (
                    "bb300cfdad3c16e7a12a480ee83cd310",
                    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                ),
            ],
        ),
        "mnist" => idx_sources(
            false,
            [
                (
                    "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                ),
                (
                    "d53e105ee54ea40749a09fcbcd1e9432",
                    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                ),
                (
                    "9fb629c4189551a2d022fa330f9573f3",
                    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                ),
                (
                    "ec29112dd5afa0611ce80d1b7f02629c",
                    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                ),
            ],
        ),
        other => {
            return Err(DataError::Usage(format!(
                "no download for '{other}' (cifar10, stl10, fashion-mnist, mnist)"
            )))
        }
    })
}

const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

fn idx_sources(fashion: bool, digests: [(&'static str, &'static str); 4]) -> Vec<Source> {
    let urls: [&'static str; 4] = match fashion {
        true => [
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-labels-idx1-ubyte.gz",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-images-idx3-ubyte.gz",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-labels-idx1-ubyte.gz",
        ],
        false => [
            "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
            "https://ossci-datasets.s3.amazonaws.com/mnist/train-labels-idx1-ubyte.gz",
            "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz",
            "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz",
        ],
    };
    IDX_FILES
        .iter()
        .zip(urls)
        .zip(digests)
        .map(|((_, url), (md5, sha))| Source {
            url,
            file: url.rsplit('/').next().expect("a file name"),
            md5,
            sha256: Some(sha),
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// MD5 and SHA-256 of a file's bytes, and SHA-256 of its gunzipped content if it is gzip.
fn digests(path: &Path) -> Result<(String, String, Option<String>)> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let inner = if bytes.starts_with(&[0x1f, 0x8b]) && !path.to_string_lossy().ends_with(".tar.gz")
    {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|e| DataError::format(path, format!("corrupt gzip: {e}")))?;
        Some(hex(&Sha256::digest(&out)))
    } else {
        None
    };
    Ok((
        hex(&Md5::digest(&bytes)),
        hex(&Sha256::digest(&bytes)),
        inner,
    ))
}

/// Checks a file against a source: the official MD5, or the SHA-256 of the archive or of the
/// decompressed content (which also accepts re-compressed copies such as Debian's).
pub fn verify(path: &Path, src: &Source) -> Result<()> {
    let (md5, sha, inner) = digests(path)?;
    let ok = md5 == src.md5
        || src
            .sha256
            .is_some_and(|s| s == sha || inner.as_deref() == Some(s));
    if ok {
        return Ok(());
    }
    Err(DataError::Checksum {
        path: path.to_path_buf(),
        algo: "md5",
        got: md5,
        expected: src.md5.into(),
    })
}

/// Puts a verified file in place: extracts a `.tar.gz` into `dest`, copies anything else.
fn install(file: &Path, src: &Source, dest: &Path) -> Result<()> {
    verify(file, src)?;
    std::fs::create_dir_all(dest).map_err(|e| DataError::io(dest, e))?;
    if src.file.ends_with(".tar.gz") {
        let f = std::fs::File::open(file).map_err(|e| DataError::io(file, e))?;
        tar::Archive::new(flate2::read::GzDecoder::new(f))
            .unpack(dest)
            .map_err(|e| DataError::format(file, format!("cannot unpack: {e}")))?;
    } else {
        std::fs::copy(file, dest.join(src.file)).map_err(|e| DataError::io(file, e))?;
    }
    Ok(())
}

/// Imports a dataset from a local path: the official archive, or a folder holding the official
/// files (e.g. Debian's `dataset-fashion-mnist` folder). Everything is verified.
pub fn import(name: &str, from: &Path, data_dir: &Path) -> Result<PathBuf> {
    let dest = data_dir.join(name);
    for src in sources(name)? {
        let candidate = if from.is_dir() {
            from.join(src.file)
        } else {
            from.to_path_buf()
        };
        if !candidate.exists() {
            return Err(DataError::format(
                &candidate,
                format!("missing; expected the official file {}", src.file),
            ));
        }
        install(&candidate, &src, &dest)?;
    }
    Ok(dest)
}

/// The size `curl` reports for `url` (its last `content-length` header), if any.
fn content_length(url: &str) -> Option<u64> {
    let out = std::process::Command::new("curl")
        .args(["-sIL", url])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .filter_map(|v| v.parse().ok())
        .next_back()
}

/// `curl` downloading `url` to `file`, with a progress bar (bytes, rate, ETA) on a terminal.
fn download(url: &str, file: &Path) -> Result<std::process::ExitStatus> {
    let bar = indicatif::ProgressBar::with_draw_target(
        content_length(url),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "  [{bar:32}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let mut child = std::process::Command::new("curl")
        .args(["-L", "--fail", "--retry", "3", "-sS", "-o"])
        .arg(file)
        .arg(url)
        .spawn()
        .map_err(|e| DataError::io("curl", e))?;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| DataError::io("curl", e))? {
            bar.finish_and_clear();
            return Ok(status);
        }
        bar.set_position(std::fs::metadata(file).map_or(0, |m| m.len()));
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Downloads a dataset with `curl` into `data_dir/<name>` and verifies it. Needs internet.
pub fn fetch(name: &str, data_dir: &Path) -> Result<PathBuf> {
    let dest = data_dir.join(name);
    let tmp = data_dir.join(".download");
    std::fs::create_dir_all(&tmp).map_err(|e| DataError::io(&tmp, e))?;
    for src in sources(name)? {
        let file = tmp.join(src.file);
        eprintln!("downloading {} (md5 {})", src.url, src.md5);
        let status = download(src.url, &file)?;
        if !status.success() {
            return Err(DataError::Usage(format!("download of {} failed ({status}); download it by hand and use `pbtnas data import {name} FILE`", src.url)));
        }
        install(&file, &src, &dest)?;
        let _ = std::fs::remove_file(&file);
    }
    Ok(dest)
}

#[cfg(test)]
mod tests {
    /// The download path on a `file://` URL (curl reads those too; no network in tests).
    #[test]
    fn download_copies_a_url_and_knows_its_size() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src.bin");
        let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &bytes).unwrap();
        let url = format!("file://{}", src.display());
        assert_eq!(super::content_length(&url), Some(300_000));
        let out = tmp.path().join("out.bin");
        assert!(super::download(&url, &out).unwrap().success());
        assert_eq!(std::fs::read(&out).unwrap(), bytes);
        let missing = format!("file://{}", tmp.path().join("nope").display());
        assert!(!super::download(&missing, &out).unwrap().success());
    }
}
