// x2 upsampling of (N, C, H, W) on CUDA (resample.rs): the forward with one thread per output
// element, and its adjoint with one thread per input element that gathers the outputs reading
// it (no atomics). Weights as the CPU kernels: bilinear with align_corners=False (1/4, 3/4, edges
// replicated) or nearest.

// The two input positions that output position `o` of a doubled axis of length `n` reads, with
// their weights.
__device__ __forceinline__ void taps(long long o, long long n, int bilinear, long long *a,
                                     long long *b, float *wa, float *wb) {
  long long i = o / 2;
  if (!bilinear) {
    *a = i, *b = i, *wa = 1.0f, *wb = 0.0f;
  } else if (o % 2 == 0) {
    *a = i > 0 ? i - 1 : 0, *b = i, *wa = 0.25f, *wb = 0.75f;
  } else {
    *a = i, *b = i + 1 < n ? i + 1 : n - 1, *wa = 0.75f, *wb = 0.25f;
  }
}

// The weight with which output position `o` reads input position `i` (axis of length `n`).
__device__ __forceinline__ float weight(long long o, long long i, long long n, int bilinear) {
  long long a, b;
  float wa, wb;
  taps(o, n, bilinear, &a, &b, &wa, &wb);
  return (a == i ? wa : 0.0f) + (b == i ? wb : 0.0f);
}

// y (planes x 2h x 2w) from x (planes x h x w); `total` = planes * 4hw.
extern "C" __global__ void pbtnas_upsample2x(unsigned long long total, unsigned long long h,
                                             unsigned long long w, int bilinear, const float *x,
                                             float *y) {
  unsigned long long k = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= total) return;
  long long ox = k % (2 * w), oy = (k / (2 * w)) % (2 * h);
  const float *s = x + (k / (4 * h * w)) * h * w;
  long long ra, rb, ca, cb;
  float wra, wrb, wca, wcb;
  taps(oy, h, bilinear, &ra, &rb, &wra, &wrb);
  taps(ox, w, bilinear, &ca, &cb, &wca, &wcb);
  // Along rows first, then the two rows mixed: the CPU kernel's order.
  float top = wca * s[ra * w + ca] + wcb * s[ra * w + cb];
  float bottom = wca * s[rb * w + ca] + wcb * s[rb * w + cb];
  y[k] = wra * top + wrb * bottom;
}

// gx (planes x h x w) from gy (planes x 2h x 2w); `total` = planes * hw.
extern "C" __global__ void pbtnas_upsample2x_grad(unsigned long long total, unsigned long long h,
                                                  unsigned long long w, int bilinear,
                                                  const float *gy, float *gx) {
  unsigned long long k = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= total) return;
  long long ix = k % w, iy = (k / w) % h, H = h, W = w;
  const float *g = gy + (k / (h * w)) * 4 * h * w;
  // Output rows 2i-1 .. 2i+2 (and columns alike) are the only ones that can read input i.
  float acc = 0.0f;
  for (long long oy = 2 * iy - 1; oy <= 2 * iy + 2; ++oy) {
    if (oy < 0 || oy >= 2 * H) continue;
    float wr = weight(oy, iy, H, bilinear);
    if (wr == 0.0f) continue;
    float row = 0.0f;
    for (long long ox = 2 * ix - 1; ox <= 2 * ix + 2; ++ox) {
      if (ox < 0 || ox >= 2 * W) continue;
      float wc = weight(ox, ix, W, bilinear);
      if (wc != 0.0f) row += wc * g[oy * 2 * W + ox];
    }
    acc += wr * row;
  }
  gx[k] = acc;
}
