//! Checkpoints: one safetensors file per member state, with a JSON header in its metadata.
//!
//! Tensor names: `w.<name>` (weights), `s.<name>` (shadows), `d.<name>` (task data), `opt.<optimizer>.{m,v,t}.<name>`
//! (Adam moments and step count). Metadata key `pbtnas` holds `{"format":1,"meta":…,"header":…}`.

use std::collections::HashMap;

use candle_core::{bail, DType, Device, Result, Tensor};
use safetensors::SafeTensors;
use sha2::{Digest, Sha256};

use crate::adam::ParamState;
use crate::weights::MemberState;

const FORMAT: u64 = 1;

/// Serializes a member state and a caller's header (genome, generation …) to bytes.
pub fn encode(state: &MemberState, header: &serde_json::Value) -> Result<Vec<u8>> {
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    for (n, t) in &state.weights {
        tensors.push((format!("w.{n}"), t.clone()));
    }
    for (n, t) in &state.shadows {
        tensors.push((format!("s.{n}"), t.clone()));
    }
    for (n, t) in &state.data {
        tensors.push((format!("d.{n}"), t.clone()));
    }
    for (opt, st) in &state.optimizers {
        if opt.contains('.') {
            bail!("optimizer name '{opt}' must not contain '.'");
        }
        for (n, p) in st {
            tensors.push((format!("opt.{opt}.m.{n}"), p.m.clone()));
            tensors.push((format!("opt.{opt}.v.{n}"), p.v.clone()));
            let step = Tensor::new(&[p.step as i64], &Device::Cpu)?;
            tensors.push((format!("opt.{opt}.t.{n}"), step));
        }
    }
    let tensors = tensors
        .into_iter()
        .map(|(n, t)| Ok((n, t.to_device(&Device::Cpu)?.contiguous()?)))
        .collect::<Result<Vec<_>>>()?;
    let info = serde_json::json!({"format": FORMAT, "meta": state.meta, "header": header});
    let metadata = HashMap::from([("pbtnas".to_string(), info.to_string())]);
    safetensors::serialize(tensors, Some(metadata)).map_err(candle_core::Error::wrap)
}

/// Reads bytes written by [`encode`], placing tensors on `device`. Returns the state and header.
pub fn decode(bytes: &[u8], device: &Device) -> Result<(MemberState, serde_json::Value)> {
    use candle_core::safetensors::Load;
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(candle_core::Error::wrap)?;
    let st = SafeTensors::deserialize(bytes).map_err(candle_core::Error::wrap)?;
    let info: serde_json::Value = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get("pbtnas"))
        .map(|s| serde_json::from_str(s))
        .transpose()
        .map_err(candle_core::Error::wrap)?
        .unwrap_or_default();
    if info["format"].as_u64() != Some(FORMAT) {
        bail!("not a pbtnas checkpoint of format {FORMAT} (header: {info})");
    }
    let mut state = MemberState {
        meta: info["meta"].clone(),
        ..Default::default()
    };
    let mut steps: HashMap<(String, String), u64> = HashMap::new();
    let mut moments: HashMap<(String, String), (Option<Tensor>, Option<Tensor>)> = HashMap::new();
    for (name, view) in st.tensors() {
        let t = view.load(device)?;
        if let Some(n) = name.strip_prefix("w.") {
            state.weights.insert(n.to_string(), t);
        } else if let Some(n) = name.strip_prefix("s.") {
            state.shadows.insert(n.to_string(), t);
        } else if let Some(n) = name.strip_prefix("d.") {
            state.data.insert(n.to_string(), t);
        } else if let Some(rest) = name.strip_prefix("opt.") {
            let parts: Vec<&str> = rest.splitn(3, '.').collect();
            let [opt, kind, param] = parts[..] else {
                bail!("malformed optimizer tensor name '{name}'");
            };
            let key = (opt.to_string(), param.to_string());
            match kind {
                "m" => moments.entry(key).or_default().0 = Some(t),
                "v" => moments.entry(key).or_default().1 = Some(t),
                "t" => {
                    steps.insert(key, t.to_dtype(DType::I64)?.to_vec1::<i64>()?[0] as u64);
                }
                _ => bail!("malformed optimizer tensor name '{name}'"),
            }
        } else {
            bail!("unexpected tensor '{name}' in checkpoint");
        }
    }
    for ((opt, param), (m, v)) in moments {
        let (Some(m), Some(v)) = (m, v) else {
            bail!("optimizer '{opt}': incomplete state for '{param}'");
        };
        let step = steps
            .get(&(opt.clone(), param.clone()))
            .copied()
            .unwrap_or(0);
        state
            .optimizers
            .entry(opt)
            .or_default()
            .insert(param, ParamState { m, v, step });
    }
    Ok((state, info["header"].clone()))
}

/// Lower-case hex SHA-256 of bytes: the content address of a checkpoint.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
