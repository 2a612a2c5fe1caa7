// Batch norm in training mode on CUDA (batch_norm.rs), x of (n, c, p): the channel statistics
// and the gradient sums with one block per channel, the normalisation and the input gradient
// with one thread per element. Per-thread partial sums are f32, the block's sum f64; scales as
// the CPU kernels compute them (the square root in f64).

#define REDUCE 256  // the largest block of the reductions (REDUCE_BLOCK in cuda.rs)

// The sum of every thread's `v` over the block (a power of two), returned to every thread.
__device__ double block_sum(double v, double *buf) {
  buf[threadIdx.x] = v;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) buf[threadIdx.x] += buf[threadIdx.x + s];
    __syncthreads();
  }
  double total = buf[0];
  __syncthreads();  // the next call writes buf again
  return total;
}

// Element k of channel ch's n*p elements, counted batch-major.
__device__ __forceinline__ unsigned long long at(unsigned long long k, unsigned long long ch,
                                                 unsigned long long c, unsigned long long p) {
  return ((k / p) * c + ch) * p + k % p;
}

__device__ __forceinline__ float inv_std(float var, double eps) {
  return (float)(1.0 / sqrt((double)var + eps));
}

// stats[ch] = mean and stats[c + ch] = biased variance of channel ch = blockIdx.x.
extern "C" __global__ void pbtnas_bn_stats(unsigned long long n, unsigned long long c,
                                           unsigned long long p, const float *x, float *stats) {
  __shared__ double buf[REDUCE];
  unsigned long long ch = blockIdx.x, m = n * p;
  float s = 0.0f;
  for (unsigned long long k = threadIdx.x; k < m; k += blockDim.x) s += x[at(k, ch, c, p)];
  float mean = (float)(block_sum(s, buf) / (double)m);
  float ss = 0.0f;
  for (unsigned long long k = threadIdx.x; k < m; k += blockDim.x) {
    float d = x[at(k, ch, c, p)] - mean;
    ss += d * d;
  }
  double var = block_sum(ss, buf) / (double)m;
  if (threadIdx.x == 0) stats[ch] = mean, stats[c + ch] = (float)var;
}

// y = x * scale + shift, scale = gamma / sqrt(var + eps), shift = beta - mean * scale.
extern "C" __global__ void pbtnas_bn_forward(unsigned long long total, unsigned long long c,
                                             unsigned long long p, const float *x,
                                             const float *stats, const float *gamma,
                                             const float *beta, double eps, float *y) {
  unsigned long long k = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= total) return;
  unsigned long long ch = (k / p) % c;
  float scale = gamma[ch] / (float)sqrt((double)stats[c + ch] + eps);
  float shift = beta[ch] - stats[ch] * scale;
  y[k] = x[k] * scale + shift;
}

// sums[ch] = sum of gy and sums[c + ch] = sum of gy * x_hat over channel ch = blockIdx.x.
extern "C" __global__ void pbtnas_bn_grad_sums(unsigned long long n, unsigned long long c,
                                               unsigned long long p, const float *gy,
                                               const float *x, const float *stats, double eps,
                                               float *sums) {
  __shared__ double buf[REDUCE];
  unsigned long long ch = blockIdx.x, m = n * p;
  float mean = stats[ch], a = 0.0f, b = 0.0f;
  for (unsigned long long k = threadIdx.x; k < m; k += blockDim.x) {
    unsigned long long i = at(k, ch, c, p);
    a += gy[i];
    b += gy[i] * (x[i] - mean);
  }
  double sa = block_sum(a, buf), sb = block_sum(b, buf);
  if (threadIdx.x == 0) {
    sums[ch] = (float)sa;
    sums[c + ch] = (float)(sb * (double)inv_std(stats[c + ch], eps));
  }
}

// gx = gamma / sigma * (gy - mean(gy) - x_hat * mean(gy * x_hat)), m = n * p.
extern "C" __global__ void pbtnas_bn_grad_input(unsigned long long total, unsigned long long c,
                                                unsigned long long p, const float *gy,
                                                const float *x, const float *stats,
                                                const float *sums, const float *gamma,
                                                double eps, double m, float *gx) {
  unsigned long long k = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= total) return;
  unsigned long long ch = (k / p) % c;
  float is = inv_std(stats[c + ch], eps);
  float mg = (float)((double)sums[ch] / m), mgx = (float)((double)sums[c + ch] / m) * is;
  gx[k] = gamma[ch] * is * (gy[k] - mg - (x[k] - stats[ch]) * mgx);
}
