// The in-place parameter updates of update.rs on CUDA, one pass each (candle's own ops would take
// a kernel launch and a fresh buffer per arithmetic step, about a dozen for Adam). Compiled to PTX
// by build.rs in `cuda` builds; the arithmetic is the CPU kernels', term for term.

// dst <- keep * dst + take * src (src * src when `square`).
extern "C" __global__ void pbtnas_blend(unsigned long long n, float *dst, const float *src,
                                        float keep, float take, int square) {
  unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    float s = square ? src[i] * src[i] : src[i];
    dst[i] = dst[i] * keep + s * take;
  }
}

// p <- p * shrink - m / (sqrt(v) * inv_sqrt_bc2 + eps) * step.
extern "C" __global__ void pbtnas_adam_step(unsigned long long n, float *p, const float *m,
                                            const float *v, float shrink, float step,
                                            float inv_sqrt_bc2, float eps) {
  unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    p[i] = p[i] * shrink - m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps) * step;
  }
}
