//! Picking the compute device once, from a user-facing name, for every task of a run.

use anyhow::{bail, Context, Result};
use candle_core::Device;

/// The device named by `spec`: `auto` (the first CUDA GPU if this build has CUDA and one is
/// present, else the CPU), `cpu`, `cuda` or `cuda:N`.
pub fn parse_device(spec: &str) -> Result<Device> {
    let cuda = |ordinal: usize| -> Result<Device> {
        if !candle_core::utils::cuda_is_available() {
            bail!("device '{spec}': this pbtnas was built without CUDA (cargo build --release --features cuda)");
        }
        let device = Device::new_cuda(ordinal)
            .with_context(|| format!("cannot open CUDA device {ordinal}"))?;
        // candle runs every op of a device on one stream, so cudarc's per-buffer events (for
        // ordering across streams) only add work to every kernel launch.
        #[cfg(feature = "cuda")]
        if let Device::Cuda(d) = &device {
            // SAFETY: all work on this device goes through its single stream.
            unsafe { d.disable_event_tracking() };
        }
        Ok(device)
    };
    match spec {
        "auto" if candle_core::utils::cuda_is_available() => Ok(cuda(0).unwrap_or(Device::Cpu)),
        "auto" | "cpu" => Ok(Device::Cpu),
        "cuda" => cuda(0),
        _ => match spec.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) => cuda(n),
            _ => bail!("unknown device '{spec}' (auto, cpu, cuda, cuda:N)"),
        },
    }
}

/// A short name for logs: `cpu` or `cuda:N`.
pub fn device_name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_or_explain() {
        assert!(parse_device("cpu").unwrap().is_cpu());
        let auto = parse_device("auto").unwrap();
        assert_eq!(
            auto.is_cpu(),
            !candle_core::utils::cuda_is_available() || parse_device("cuda").is_err()
        );
        let e = parse_device("tpu").unwrap_err().to_string();
        assert_eq!(e, "unknown device 'tpu' (auto, cpu, cuda, cuda:N)");
        assert!(parse_device("cuda:x").is_err());
        if !candle_core::utils::cuda_is_available() {
            let e = parse_device("cuda:1").unwrap_err().to_string();
            assert!(e.contains("built without CUDA"), "{e}");
        }
        assert_eq!(device_name(&Device::Cpu), "cpu");
    }
}
