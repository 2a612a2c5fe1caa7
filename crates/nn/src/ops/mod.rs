//! Fast CPU training ops as candle custom ops with backward passes: convolution, transposed
//! convolution (GEMM + im2col/col2im, none for 1×1; Winograd F(2×2, 3×3) for wide 3×3 stride-1
//! ones), fused batch norm, and a channel bias add, ReLU, bias + ReLU and conv + bias + ReLU with
//! one-pass gradients; ×2 upsampling; in-place Adam and soft-update kernels. Each public function takes the same arguments on every device; on CPU
//! in f32 it runs these kernels, elsewhere candle's own, except the convolutions, which run on
//! cuDNN's forward and backward convolutions on CUDA in builds with `cudnn`.
//! Threads: rayon's global pool (`RAYON_NUM_THREADS`, default: all cores).

mod batch_norm;
mod channel;
mod conv;
mod conv_core;
#[cfg(feature = "cudnn")]
mod conv_cudnn;
mod fused;
mod im2col;
mod release;
mod resample;
mod sgemm;
mod update;
mod winograd;

pub use batch_norm::batch_norm_train;
pub use channel::{bias_add, bias_relu, relu};
pub use conv::{conv2d, conv_transpose2d, depthwise_conv_transpose2d, relu_conv2d, ConvParams};
pub use fused::{conv2d_bias_relu, relu_conv2d_bias};
pub use release::release;
pub use resample::upsample2x;
pub use update::soft_update;
pub(crate) use update::{in_place_ok, AdamStep, Blend};
