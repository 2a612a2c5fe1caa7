//! TensorBoard event files: TFRecord framing (`u64 length | masked crc32c | bytes | masked
//! crc32c`) around hand-encoded `Event` protobufs holding scalar summaries. Only what scalars need.

use std::io::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// CRC-32C (Castagnoli), the checksum of TFRecord.
pub fn crc32c(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 == 1 {
                    (c >> 1) ^ 0x82f6_3b78
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    let mut crc = !0u32;
    for &b in data {
        crc = TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// TFRecord's masked checksum.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let c = crc32c(data);
    (c.rotate_right(15)).wrapping_add(0xa282_ead8)
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn length_delimited(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// An `Event` protobuf: wall_time (1, double), step (2, int64; omitted when 0, as proto3 does),
/// then `extra` (already encoded fields: file_version and source_metadata, or summary).
fn event(wall_time: f64, step: i64, extra: &[u8]) -> Vec<u8> {
    let mut e = vec![0x09];
    e.extend_from_slice(&wall_time.to_le_bytes());
    if step != 0 {
        e.push(0x10);
        varint(&mut e, step as u64);
    }
    e.extend_from_slice(extra);
    e
}

/// The writer named in each file's first record.
pub const WRITER: &str = "pbtnas";

/// The bytes of an event file being built in memory.
#[derive(Debug, Clone, Default)]
pub struct EventFile {
    bytes: Vec<u8>,
}

impl EventFile {
    /// A file that starts with the version record TensorBoard expects (file_version, and
    /// source_metadata naming the writer).
    pub fn new(wall_time: f64) -> Self {
        let mut f = Self::default();
        let mut version = Vec::new();
        length_delimited(&mut version, 0x1a, b"brain.Event:2");
        let mut source = Vec::new();
        length_delimited(&mut source, 0x0a, WRITER.as_bytes());
        length_delimited(&mut version, 0x52, &source);
        f.record(&event(wall_time, 0, &version));
        f
    }

    fn record(&mut self, data: &[u8]) {
        let len = (data.len() as u64).to_le_bytes();
        self.bytes.extend_from_slice(&len);
        self.bytes
            .extend_from_slice(&masked_crc32c(&len).to_le_bytes());
        self.bytes.extend_from_slice(data);
        self.bytes
            .extend_from_slice(&masked_crc32c(data).to_le_bytes());
    }

    /// Appends one scalar (`Summary.Value{tag, simple_value}`) at `step`.
    pub fn scalar(&mut self, tag: &str, step: i64, wall_time: f64, value: f32) {
        let mut v = Vec::new();
        length_delimited(&mut v, 0x0a, tag.as_bytes());
        v.push(0x15);
        v.extend_from_slice(&value.to_le_bytes());
        let mut summary = Vec::new();
        length_delimited(&mut summary, 0x0a, &v);
        let mut extra = Vec::new();
        length_delimited(&mut extra, 0x2a, &summary);
        self.record(&event(wall_time, step, &extra));
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Brings the file at `path` to these bytes: appends when it already holds a prefix of them
    /// (what a live TensorBoard reader expects of a growing file), rewrites it otherwise.
    pub fn sync(&self, path: &Path) -> Result<()> {
        let existing = std::fs::read(path).unwrap_or_default();
        if existing == self.bytes {
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        if !existing.is_empty() && self.bytes.starts_with(&existing) {
            let mut f = std::fs::OpenOptions::new().append(true).open(path)?;
            f.write_all(&self.bytes[existing.len()..])?;
        } else {
            // Not named `*tfevents*`, so a reader never picks up the half-written file.
            let tmp = path.with_file_name("partial.tmp");
            std::fs::write(&tmp, &self.bytes)?;
            std::fs::rename(&tmp, path)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }
}

/// The payloads of a TFRecord file, checking both checksums of every record.
pub fn records(bytes: &[u8]) -> Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    let word = |b: &[u8]| u32::from_le_bytes(b.try_into().expect("4 bytes"));
    while !rest.is_empty() {
        if rest.len() < 16 {
            bail!("truncated record header");
        }
        let len = u64::from_le_bytes(rest[..8].try_into().expect("8 bytes")) as usize;
        if word(&rest[8..12]) != masked_crc32c(&rest[..8]) || rest.len() < 16 + len {
            bail!("corrupt or truncated record");
        }
        let data = &rest[12..12 + len];
        if word(&rest[12 + len..16 + len]) != masked_crc32c(data) {
            bail!("record checksum mismatch");
        }
        out.push(data);
        rest = &rest[16 + len..];
    }
    Ok(out)
}
