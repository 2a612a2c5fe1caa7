//! Fast CPU training ops as candle custom ops with backward passes: convolution, transposed
//! convolution (GEMM + im2col/col2im, none for 1×1), fused batch norm, and a channel bias add
//! and ReLU with one-pass gradients. Each public function takes the same arguments on every
//! device; on CPU in f32 it runs these kernels, elsewhere candle's own.
//! Threads: rayon's global pool (`RAYON_NUM_THREADS`, default: all cores).

mod batch_norm;
mod channel;
mod conv;
mod conv_core;
mod im2col;
mod sgemm;

pub use batch_norm::batch_norm_train;
pub use channel::{bias_add, relu};
pub use conv::{conv2d, conv_transpose2d, depthwise_conv_transpose2d, ConvParams};
