//! Freeing the data of an intermediate tensor whose value nothing reads any more.
//!
//! candle keeps every tensor of a graph alive until the backward pass ends, also those whose
//! value no backward step reads (the terms of a sum: an add's gradient needs only their shapes).
//! PyTorch frees those at once; [`release`] lets a model do the same where it knows the tensor is
//! its own and fully consumed.

use candle_core::{bail, CpuStorage, InplaceOp1, Layout, Result, Tensor};

/// Frees the CPU data of `t`, keeping its graph node and shape. The caller guarantees that `t`'s
/// storage is its own (not shared with the input of a no-op or a view) and that no later forward
/// or backward step reads its value: an add's terms qualify, a ReLU's output does not. Reading it
/// afterwards panics. A no-op on other devices and dtypes.
pub fn release(t: &Tensor) -> Result<()> {
    if t.device().is_cpu() && t.dtype() == candle_core::DType::F32 {
        t.inplace_op1(&Release)?;
    }
    Ok(())
}

struct Release;

impl InplaceOp1 for Release {
    fn name(&self) -> &'static str {
        "pbtnas-release"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> Result<()> {
        let whole = storage.as_slice::<f32>().map(<[f32]>::len).ok();
        if layout.start_offset() != 0 || whole != Some(layout.shape().elem_count()) {
            bail!("release: only a whole f32 tensor's own storage can be freed, not a view");
        }
        *storage = CpuStorage::F32(Vec::new());
        Ok(())
    }
}
