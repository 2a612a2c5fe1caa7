//! Fast training ops as candle custom ops with backward passes: convolution, transposed
//! convolution (GEMM + im2col/col2im, none for 1×1; Winograd F(2×2, 3×3) for wide 3×3 stride-1
//! ones), batch norm, a channel bias add, ReLU, bias + ReLU and conv + bias + ReLU with one-pass
//! gradients, ×2 upsampling, and in-place Adam and soft-update kernels. Each public function takes
//! the same arguments on every device. In f32 on the CPU it runs these kernels; on CUDA in `cuda`
//! builds the batch norm, upsampling and update kernels run as CUDA kernels (`*.cu`, tested on the
//! CPU by `cuda_emu.rs`) and, with `cudnn`, the convolutions on cuDNN; everything else runs
//! candle's own ops. Threads: rayon's global pool (`RAYON_NUM_THREADS`, default: all cores).

mod batch_norm;
mod channel;
mod conv;
mod conv_core;
#[cfg(feature = "cudnn")]
mod conv_cudnn;
mod cuda;
#[cfg(test)]
mod cuda_emu;
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
pub use cuda::own_kernels;
pub use cuda::{candle_ops, candle_ops_from_env, use_candle_ops, OpGroup};
pub use fused::{conv2d_bias_relu, relu_conv2d_bias};
pub use release::release;
pub use resample::{upsample2x, upsample_bilinear};
pub use update::soft_update;
pub use update::{in_place_ok, AdamStep, Blend};
