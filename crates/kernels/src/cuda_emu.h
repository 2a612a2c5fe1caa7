// Runs this crate's CUDA kernels on the CPU, for the tests in cuda_emu.rs: g++ compiles a `.cu`
// file as C++ after this header. Blocks run one after another; a block's threads run as OS
// threads, so `__syncthreads()` is a barrier and a `__shared__` array, made `static`, is shared
// by the block's threads. Enough for kernels that use only what is defined here.
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};

// Internal linkage, not `inline`: g++ makes inline variables unique across the whole process, so
// every kernel library loaded at once (tests run in parallel) would share one launch's state.
static thread_local dim3 threadIdx, blockIdx;
static dim3 blockDim, gridDim;

// A barrier of a block's threads.
struct EmuBarrier {
  explicit EmuBarrier(unsigned n) : threads(n) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mutex);
    unsigned long long phase = generation;
    if (++arrived == threads) {
      arrived = 0;
      ++generation;
      all_arrived.notify_all();
    } else {
      all_arrived.wait(lock, [&] { return generation != phase; });
    }
  }
  unsigned threads, arrived = 0;
  unsigned long long generation = 0;
  std::mutex mutex;
  std::condition_variable all_arrived;
};

static EmuBarrier *emu_block_barrier = nullptr;

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
        EmuBarrier barrier(threads);
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
