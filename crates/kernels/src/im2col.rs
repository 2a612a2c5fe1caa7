//! im2col / col2im for one image: the "big" side of a convolution (its input) against the
//! "small" side (its output), for stride, padding and dilation.

/// Geometry of a 2-d convolution between a big image (`hb × wb`) and a small one (`hs × ws`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Geometry {
    pub hb: usize,
    pub wb: usize,
    pub hs: usize,
    pub ws: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    /// Zero padding above and below (`pad_h`), left and right (`pad_w`).
    pub pad_h: usize,
    pub pad_w: usize,
    pub dilation: usize,
}

impl Geometry {
    /// Pixels of the small image.
    pub fn small(&self) -> usize {
        self.hs * self.ws
    }

    /// Kernel taps.
    pub fn taps(&self) -> usize {
        self.kh * self.kw
    }

    /// A 1×1 convolution without stride or padding: the columns are the image itself.
    pub fn is_identity(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == 1 && self.pad_h == 0 && self.pad_w == 0
    }

    /// The small-image range `[lo, hi)` whose big coordinate `o*stride + tap*dilation - pad`
    /// lies in `[0, size)`.
    fn valid(&self, tap: usize, size: usize, small: usize, pad: usize) -> (usize, usize) {
        let offset = (tap * self.dilation) as isize - pad as isize;
        let s = self.stride as isize;
        // smallest o with o*s + offset >= 0
        let lo = if offset >= 0 {
            0
        } else {
            ((-offset + s - 1) / s) as usize
        };
        // largest o with o*s + offset <= size-1
        let top = size as isize - 1 - offset;
        let hi = if top < 0 { 0 } else { (top / s + 1) as usize };
        (lo.min(small), hi.min(small).max(lo.min(small)))
    }
}

/// `cols[(c·kh + i)·kw + j, oh·ws + ow] = img[c, oh·s + i·d − p, ow·s + j·d − p]` (0 outside),
/// rectified (`max(v, 0)`) when `relu`.
pub fn im2col(img: &[f32], channels: usize, g: &Geometry, relu: bool, cols: &mut [f32]) {
    let (n_small, plane) = (g.small(), g.hb * g.wb);
    for c in 0..channels {
        let src = &img[c * plane..(c + 1) * plane];
        for i in 0..g.kh {
            let (oh0, oh1) = g.valid(i, g.hb, g.hs, g.pad_h);
            for j in 0..g.kw {
                let (ow0, ow1) = g.valid(j, g.wb, g.ws, g.pad_w);
                let row = ((c * g.kh + i) * g.kw + j) * n_small;
                let dst = &mut cols[row..row + n_small];
                dst[..oh0 * g.ws].fill(0.0);
                dst[oh1 * g.ws..].fill(0.0);
                let iw0 = (ow0 * g.stride + j * g.dilation) as isize - g.pad_w as isize;
                for oh in oh0..oh1 {
                    let ih = oh * g.stride + i * g.dilation - g.pad_h;
                    let d = &mut dst[oh * g.ws..(oh + 1) * g.ws];
                    d[..ow0].fill(0.0);
                    d[ow1..].fill(0.0);
                    if ow1 > ow0 {
                        let s = &src[ih * g.wb..(ih + 1) * g.wb];
                        let iw0 = iw0 as usize;
                        let d = &mut d[ow0..ow1];
                        let n = d.len();
                        match (g.stride, relu) {
                            (1, false) => d.copy_from_slice(&s[iw0..iw0 + n]),
                            (1, true) => d
                                .iter_mut()
                                .zip(&s[iw0..iw0 + n])
                                .for_each(|(v, e)| *v = e.max(0.0)),
                            (st, false) => d
                                .iter_mut()
                                .enumerate()
                                .for_each(|(k, v)| *v = s[iw0 + k * st]),
                            (st, true) => d
                                .iter_mut()
                                .enumerate()
                                .for_each(|(k, v)| *v = s[iw0 + k * st].max(0.0)),
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds every column entry back into `img` (which the caller zeroes).
pub fn col2im(cols: &[f32], channels: usize, g: &Geometry, img: &mut [f32]) {
    let (n_small, plane) = (g.small(), g.hb * g.wb);
    for c in 0..channels {
        let dst = &mut img[c * plane..(c + 1) * plane];
        for i in 0..g.kh {
            let (oh0, oh1) = g.valid(i, g.hb, g.hs, g.pad_h);
            for j in 0..g.kw {
                let (ow0, ow1) = g.valid(j, g.wb, g.ws, g.pad_w);
                if ow1 <= ow0 {
                    continue;
                }
                let row = ((c * g.kh + i) * g.kw + j) * n_small;
                let src = &cols[row..row + n_small];
                let iw0 = ow0 * g.stride + j * g.dilation - g.pad_w;
                for oh in oh0..oh1 {
                    let ih = oh * g.stride + i * g.dilation - g.pad_h;
                    let d = &mut dst[ih * g.wb..(ih + 1) * g.wb];
                    let s = &src[oh * g.ws + ow0..oh * g.ws + ow1];
                    if g.stride == 1 {
                        for (dv, sv) in d[iw0..iw0 + s.len()].iter_mut().zip(s) {
                            *dv += sv;
                        }
                    } else {
                        for (k, sv) in s.iter().enumerate() {
                            d[iw0 + k * g.stride] += sv;
                        }
                    }
                }
            }
        }
    }
}
