//! The three products of a [`ConvShape`] on CUDA by cuDNN: big → small is its forward
//! convolution, small → big its backward-data convolution and the weight gradient its
//! backward-filter convolution, with groups, asymmetric padding, stride and dilation given to
//! cuDNN as they are (candle's own CUDA convolution has only the forward on cuDNN, splits groups
//! into separate calls and runs the input gradient through a plain transposed-convolution kernel).
//!
//! Algorithms come from cuDNN's heuristics (PyTorch's default, `benchmark=False`), chosen once per
//! shape like PyTorch's cache. The math is plain f32 unless candle's reduced-precision flag for
//! f32 matmuls is set (`candle_core::cuda::set_gemm_reduced_precision_f32`), which allows TF32
//! here too.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use candle_core::backend::BackendStorage;
use candle_core::cuda::cudarc::cudnn::{
    sys, ConvBackwardData, ConvBackwardFilter, ConvDescriptor, ConvForward, Cudnn,
    FilterDescriptor, TensorDescriptor,
};
use candle_core::cuda::cudarc::driver::{CudaSlice, CudaView};
use candle_core::cuda::{CudaDevice, DeviceId};
use candle_core::{CudaStorage, Error, Layout, Result};

use super::conv::Product;
use super::conv_core::ConvShape;

/// The descriptors of a convolution: big image, weight, small image, and the convolution.
struct Descriptors {
    big: TensorDescriptor<f32>,
    w: FilterDescriptor<f32>,
    small: TensorDescriptor<f32>,
    conv: ConvDescriptor<f32>,
}

/// A convolution ready to launch: its descriptors, algorithm and workspace size.
struct Plan {
    d: Descriptors,
    algo: Algo,
    workspace: usize,
}

enum Algo {
    Forward(sys::cudnnConvolutionFwdAlgo_t),
    BackwardData(sys::cudnnConvolutionBwdDataAlgo_t),
    BackwardFilter(sys::cudnnConvolutionBwdFilterAlgo_t),
}

/// What a plan depends on: the device, the product, the shape and whether TF32 is allowed.
type Key = (DeviceId, Product, ConvShape, bool);

// cuDNN handles and descriptors are neither Send nor Sync: one handle per thread and device, as
// candle keeps its own, and the plans made with it.
thread_local! {
    static HANDLES: RefCell<HashMap<DeviceId, Arc<Cudnn>>> = RefCell::new(HashMap::new());
    static PLANS: RefCell<HashMap<Key, Rc<Plan>>> = RefCell::new(HashMap::new());
}

fn handle(dev: &CudaDevice) -> Result<Arc<Cudnn>> {
    HANDLES.with(|h| {
        if let Some(c) = h.borrow().get(&dev.id()) {
            return Ok(c.clone());
        }
        let c = Cudnn::new(dev.cuda_stream()).map_err(Error::wrap)?;
        h.borrow_mut().insert(dev.id(), c.clone());
        Ok(c)
    })
}

impl Descriptors {
    fn forward(&self) -> ConvForward<'_, f32, f32, f32> {
        ConvForward {
            conv: &self.conv,
            x: &self.big,
            w: &self.w,
            y: &self.small,
        }
    }

    fn backward_data(&self) -> ConvBackwardData<'_, f32, f32, f32> {
        ConvBackwardData {
            conv: &self.conv,
            dx: &self.big,
            w: &self.w,
            dy: &self.small,
        }
    }

    fn backward_filter(&self) -> ConvBackwardFilter<'_, f32, f32, f32> {
        ConvBackwardFilter {
            conv: &self.conv,
            x: &self.big,
            dw: &self.w,
            dy: &self.small,
        }
    }

    fn new(cudnn: &Arc<Cudnn>, cs: &ConvShape, tf32: bool) -> Result<Self> {
        let nchw = sys::cudnnTensorFormat_t::CUDNN_TENSOR_NCHW;
        let g = &cs.geo;
        let i = |v: usize| v as i32;
        let big = cudnn
            .create_4d_tensor::<f32>(nchw, [i(cs.batch), i(cs.big_ch), i(g.hb), i(g.wb)])
            .map_err(Error::wrap)?;
        let small = cudnn
            .create_4d_tensor::<f32>(nchw, [i(cs.batch), i(cs.small_ch), i(g.hs), i(g.ws)])
            .map_err(Error::wrap)?;
        let w = cudnn
            .create_4d_filter::<f32>(
                nchw,
                [i(cs.small_ch), i(cs.big_ch / cs.groups), i(g.kh), i(g.kw)],
            )
            .map_err(Error::wrap)?;
        let mut conv = cudnn
            .create_conv2d::<f32>(
                [i(g.pad_h), i(g.pad_w)],
                [i(g.stride), i(g.stride)],
                [i(g.dilation), i(g.dilation)],
                sys::cudnnConvolutionMode_t::CUDNN_CROSS_CORRELATION,
            )
            .map_err(Error::wrap)?;
        conv.set_group_count(i(cs.groups)).map_err(Error::wrap)?;
        conv.set_math_type(match tf32 {
            true => sys::cudnnMathType_t::CUDNN_DEFAULT_MATH,
            false => sys::cudnnMathType_t::CUDNN_FMA_MATH,
        })
        .map_err(Error::wrap)?;
        Ok(Descriptors {
            big,
            w,
            small,
            conv,
        })
    }
}

impl Plan {
    fn new(cudnn: &Arc<Cudnn>, product: Product, cs: &ConvShape, tf32: bool) -> Result<Self> {
        let d = Descriptors::new(cudnn, cs, tf32)?;
        let (algo, workspace) = match product {
            Product::BigToSmall => {
                let op = d.forward();
                let a = op.pick_algorithm().map_err(Error::wrap)?;
                (
                    Algo::Forward(a),
                    op.get_workspace_size(a).map_err(Error::wrap)?,
                )
            }
            Product::SmallToBig => {
                let op = d.backward_data();
                let a = op.pick_algorithm().map_err(Error::wrap)?;
                (
                    Algo::BackwardData(a),
                    op.get_workspace_size(a).map_err(Error::wrap)?,
                )
            }
            Product::WeightGrad => {
                let op = d.backward_filter();
                let a = op.pick_algorithm().map_err(Error::wrap)?;
                (
                    Algo::BackwardFilter(a),
                    op.get_workspace_size(a).map_err(Error::wrap)?,
                )
            }
        };
        Ok(Plan { d, algo, workspace })
    }
}

/// The f32 data of a contiguous argument, from its offset.
fn view<'a>(s: &'a CudaStorage, l: &Layout) -> Result<CudaView<'a, f32>> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(s.as_cuda_slice::<f32>()?.slice(a..b)),
        None => candle_core::bail!("pbtnas-conv on CUDA needs contiguous arguments"),
    }
}

/// Runs `product` of `cs` on the two arguments (see [`Product`] for which is which).
pub(super) fn run(
    product: Product,
    cs: &ConvShape,
    (s1, l1): (&CudaStorage, &Layout),
    (s2, l2): (&CudaStorage, &Layout),
) -> Result<CudaStorage> {
    let dev = s1.device().clone();
    let tf32 = candle_core::cuda::gemm_reduced_precision_f32();
    let key = (dev.id(), product, *cs, tf32);
    let plan = match PLANS.with(|p| p.borrow().get(&key).cloned()) {
        Some(plan) => plan,
        None => {
            let plan = Rc::new(Plan::new(&handle(&dev)?, product, cs, tf32)?);
            PLANS.with(|p| p.borrow_mut().insert(key, plan.clone()));
            plan
        }
    };
    let (a, b) = (view(s1, l1)?, view(s2, l2)?);
    let g = &cs.geo;
    let len = match product {
        Product::BigToSmall => cs.batch * cs.small_ch * g.hs * g.ws,
        Product::SmallToBig => cs.batch * cs.big_ch * g.hb * g.wb,
        Product::WeightGrad => cs.small_ch * cs.big_ch / cs.groups * g.kh * g.kw,
    };
    // SAFETY: with beta = 0 cuDNN writes every element of the output and reads none; the
    // workspace is scratch space it writes before reading.
    let mut out = unsafe { dev.alloc::<f32>(len)? };
    let mut ws: Option<CudaSlice<u8>> = match plan.workspace {
        0 => None,
        bytes => Some(unsafe { dev.alloc::<u8>(bytes)? }),
    };
    let scale = (1.0, 0.0);
    // SAFETY: the plan's descriptors were made from the shapes of `a`, `b` and `out`.
    unsafe {
        match plan.algo {
            Algo::Forward(algo) => {
                plan.d
                    .forward()
                    .launch(algo, ws.as_mut(), scale, &a, &b, &mut out)
            }
            Algo::BackwardData(algo) => {
                plan.d
                    .backward_data()
                    .launch(algo, ws.as_mut(), scale, &mut out, &b, &a)
            }
            Algo::BackwardFilter(algo) => {
                plan.d
                    .backward_filter()
                    .launch(algo, ws.as_mut(), scale, &a, &mut out, &b)
            }
        }
    }
    .map_err(Error::wrap)?;
    Ok(CudaStorage::wrap_cuda_slice(out, dev))
}
