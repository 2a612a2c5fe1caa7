//! Keeping freed memory for reuse. Training allocates and frees the same large activation and
//! gradient buffers every iteration; glibc serves blocks above its mmap threshold (at most 32 MB)
//! with fresh `mmap`s, so each iteration page-faults and zeroes them anew (a DrQ-v2 update at
//! batch 256 spent over half its time there). With mmap off and a high trim threshold, freed
//! blocks stay in the heap and are reused (BENCHMARKS.md: DrQ-v2 update 2.8 → 1.4 s). One arena
//! for all threads: the per-thread arenas glibc otherwise adds are mmap'd heaps that give freed
//! pages back and fault them in again (a CIFAR GAN iteration: 7.0 M → 1.8 M page faults,
//! 9.2 → 7.2 s).
//!
//! The `pbtnas` binary applies it unless `PBTNAS_KEEP_FREED_MEMORY=0`; the timers in `examples/`
//! always do. A two-worker PBT-NAS run of small RL members keeps a flat resident size with it
//! (~75 MB).

/// Tells glibc's allocator to serve every block from its one main heap (no mmap, no per-thread
/// arenas) and keep up to 2 GB of freed memory; call once at the start of a process, before the
/// big allocations. No-op elsewhere.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before other threads
    // allocate, and later allocations honour the new settings.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
