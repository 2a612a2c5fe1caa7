//! An in-memory image set: u8 NCHW, optional labels, and batches in [-1, 1].

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Images held as u8, `n × c × h × w`, with optional class labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSet {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub data: Vec<u8>,
    pub labels: Option<Vec<u8>>,
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.data.len() / self.image_len().max(1)
    }

    /// True if the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Bytes per image.
    pub fn image_len(&self) -> usize {
        self.c * self.h * self.w
    }

    /// Image `i` as CHW bytes.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.data[i * self.image_len()..(i + 1) * self.image_len()]
    }

    /// Concatenates sets of the same geometry (e.g. STL-10 train + unlabeled); labels are kept
    /// only if every part has them.
    pub fn concat(parts: Vec<ImageSet>) -> ImageSet {
        let (c, h, w) = (parts[0].c, parts[0].h, parts[0].w);
        assert!(
            parts.iter().all(|p| (p.c, p.h, p.w) == (c, h, w)),
            "concatenated sets must share a geometry"
        );
        let labels = parts
            .iter()
            .map(|p| p.labels.clone())
            .collect::<Option<Vec<_>>>()
            .map(|l| l.concat());
        ImageSet {
            c,
            h,
            w,
            data: parts.into_iter().flat_map(|p| p.data).collect(),
            labels,
        }
    }

    /// Images `indices` as f32 in [-1, 1] (`x/127.5 − 1`, as `Normalize(0.5, 0.5)` after `ToTensor`).
    pub fn batch_f32(&self, indices: &[usize]) -> Vec<f32> {
        indices
            .iter()
            .flat_map(|&i| self.image(i).iter().map(|&v| v as f32 / 127.5 - 1.0))
            .collect()
    }

    /// The same images with 1 channel replicated to 3 (for RGB models on grey data).
    pub fn to_rgb(&self) -> ImageSet {
        if self.c == 3 {
            return self.clone();
        }
        let plane = self.h * self.w;
        let data = (0..self.len())
            .flat_map(|i| self.image(i)[..plane].repeat(3))
            .collect();
        ImageSet {
            c: 3,
            data,
            ..self.clone()
        }
    }

    /// Zero-pads every image by `pad` pixels on each side (28×28 MNIST → 32×32).
    pub fn pad(&self, pad: usize) -> ImageSet {
        let (h, w) = (self.h + 2 * pad, self.w + 2 * pad);
        let mut data = vec![0u8; self.len() * self.c * h * w];
        for i in 0..self.len() {
            for c in 0..self.c {
                for y in 0..self.h {
                    let src = &self.image(i)[(c * self.h + y) * self.w..][..self.w];
                    let dst = ((i * self.c + c) * h + y + pad) * w + pad;
                    data[dst..dst + self.w].copy_from_slice(src);
                }
            }
        }
        ImageSet {
            h,
            w,
            data,
            ..self.clone()
        }
    }
}

/// Shuffled minibatches prepared ahead on a background thread, so loading never stalls training.
pub struct Prefetcher {
    rx: std::sync::mpsc::Receiver<Vec<f32>>,
    _worker: std::thread::JoinHandle<()>,
}

impl Prefetcher {
    /// Batches of `batch` images (f32 NCHW in [-1, 1]) in epochs shuffled from `seed`; keeps
    /// `ahead` batches ready. The set is shared, not copied. An epoch's last, short batch is
    /// dropped unless `short_last` (PyTorch's `DataLoader` without `drop_last` keeps it).
    pub fn new(
        set: std::sync::Arc<ImageSet>,
        batch: usize,
        seed: u64,
        ahead: usize,
        short_last: bool,
    ) -> Self {
        assert!(
            batch > 0 && set.len() >= batch,
            "batch size {batch} needs at least that many images (have {})",
            set.len()
        );
        let (tx, rx) = std::sync::mpsc::sync_channel(ahead.max(1));
        let worker = std::thread::spawn(move || {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut order: Vec<usize> = (0..set.len()).collect();
            loop {
                order.shuffle(&mut rng);
                let whole = if short_last {
                    order.len()
                } else {
                    order.len() / batch * batch
                };
                for chunk in order[..whole].chunks(batch) {
                    if tx.send(set.batch_f32(chunk)).is_err() {
                        return;
                    }
                }
            }
        });
        Self {
            rx,
            _worker: worker,
        }
    }

    /// The next batch.
    pub fn next_batch(&self) -> Vec<f32> {
        self.rx
            .recv()
            .expect("the prefetch thread runs until the prefetcher is dropped")
    }
}

impl ImageSet {
    /// The first `cols × rows` images tiled into one RGB grid image (`rows·h × cols·w × 3`, HWC).
    pub fn grid(&self, cols: usize, rows: usize) -> (usize, usize, Vec<u8>) {
        let rgb = self.to_rgb();
        let (gw, gh) = (cols * self.w, rows * self.h);
        let mut out = vec![0u8; gw * gh * 3];
        let plane = self.h * self.w;
        for k in 0..(cols * rows).min(self.len()) {
            let (ox, oy) = ((k % cols) * self.w, (k / cols) * self.h);
            let img = rgb.image(k);
            for y in 0..self.h {
                for x in 0..self.w {
                    for c in 0..3 {
                        out[((oy + y) * gw + ox + x) * 3 + c] = img[c * plane + y * self.w + x];
                    }
                }
            }
        }
        (gw, gh, out)
    }
}
