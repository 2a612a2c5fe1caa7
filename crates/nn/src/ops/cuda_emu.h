// Runs this crate's CUDA kernels on the CPU, for the tests in cuda_emu.rs: g++ compiles a `.cu`
// file as C++ after this header. Blocks run one after another; a block's threads run as OS
// threads, so `__syncthreads()` is a barrier and a `__shared__` array, made `static`, is shared
// by the block's threads. Enough for kernels that use only what is defined here.
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstddef>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};

inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;
inline std::barrier<> *emu_block_barrier = nullptr;

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static

inline void __syncthreads() { emu_block_barrier->arrive_and_wait(); }

// Calls `kernel` with its arguments read from `params`, as cuLaunchKernel's kernelParams.
template <class... A, std::size_t... I>
void emu_call(void (*kernel)(A...), void **params, std::index_sequence<I...>) {
  kernel(*static_cast<std::remove_reference_t<A> *>(params[I])...);
}

// Runs `kernel` on a grid of `grid[0..3]` blocks of `block[0..3]` threads.
template <class... A>
void emu_launch(void (*kernel)(A...), const unsigned *grid, const unsigned *block,
                void **params) {
  gridDim = {grid[0], grid[1], grid[2]};
  blockDim = {block[0], block[1], block[2]};
  unsigned threads = block[0] * block[1] * block[2];
  for (unsigned bz = 0; bz < grid[2]; ++bz)
    for (unsigned by = 0; by < grid[1]; ++by)
      for (unsigned bx = 0; bx < grid[0]; ++bx) {
        std::barrier<> barrier(threads);
        emu_block_barrier = &barrier;
        std::vector<std::jthread> pool;
        for (unsigned t = 0; t < threads; ++t)
          pool.emplace_back([=] {
            blockIdx = {bx, by, bz};
            threadIdx = {t % block[0], t / block[0] % block[1], t / (block[0] * block[1])};
            emu_call(kernel, params, std::index_sequence_for<A...>{});
          });
      }
}
