//! Builds a [`Model`] from a GGUF file: reads its tensors onto the device, packs the matrices the core's kernels
//! multiply (streamed from the file, no second copy), re-encodes the ones candle runs faster in another format,
//! and reports the loaded fraction as it goes.
//!
//! Where the tensors lie comes from the header [`crate::gguf`] already read (for the tokenizer, the template and
//! the config), so a load parses the header once, with the reader that bounds what a hostile file can make it
//! allocate; candle only reads the tensor data.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor, gguf_file};
use candle_core::{Device, Tensor};

use super::weights::{self, Embeddings, Linear};
use super::{Layer, Model, ModelConfig, engine_err, repack};
use crate::error::{Error, IoContext, Result};
use crate::gguf::{self, GgufInfo};
use crate::inference::cpu_kernels::{QuantLinear, QuantMatrix};

/// Reads tensors out of a GGUF file, reporting progress as it goes.
struct Loader<'a> {
    /// Where each tensor lies, by name, from offset `data_offset`.
    tensors: HashMap<&'a str, gguf_file::TensorInfo>,
    data_offset: u64,
    reader: BufReader<File>,
    device: &'a Device,
    total: u64,
    loaded: u64,
    /// Bytes held after re-encoding (see `repack`) or packing (see `weights`).
    resident: u64,
    progress: &'a mut dyn FnMut(f32),
}

impl Loader<'_> {
    fn qtensor(&mut self, name: &str) -> Result<QTensor> {
        let info =
            self.tensors.get(name).ok_or_else(|| Error::InvalidGguf(format!("the model has no tensor '{name}'")))?;
        let t = info.read(&mut self.reader, self.data_offset, self.device).map_err(engine_err)?;
        self.advance(t.storage_size_in_bytes() as u64);
        let t = repack::for_device(t, self.device)?;
        self.resident += t.storage_size_in_bytes() as u64;
        Ok(t)
    }

    fn advance(&mut self, bytes: u64) {
        self.loaded += bytes;
        (self.progress)((self.loaded as f64 / self.total.max(1) as f64).min(1.0) as f32);
    }

    /// The matrix `name` packed for the core's kernels, streamed from the file (no second copy), or `None`
    /// where candle multiplies it (see `weights`).
    fn packed(&mut self, name: &str) -> Result<Option<QuantMatrix>> {
        let Some(info) = self.tensors.get(name) else { return Ok(None) };
        let Some(ty) = weights::packed_type(info.ggml_dtype, self.device) else { return Ok(None) };
        let Ok((rows, cols)) = info.shape.dims2() else { return Ok(None) };
        let start = self.data_offset.saturating_add(info.offset);
        let bytes = (info.shape.elem_count() / info.ggml_dtype.block_size() * info.ggml_dtype.type_size()) as u64;
        self.reader.seek(SeekFrom::Start(start)).context(|| format!("reading tensor '{name}'"))?;
        let m = QuantMatrix::read(ty, rows, cols, &mut self.reader)?;
        self.advance(bytes);
        self.resident += m.size_in_bytes() as u64;
        Ok(Some(m))
    }

    /// The weight matrix `name` and an optional bias: packed where the core's kernels take it, else candle's.
    fn matrix(&mut self, name: &str, bias: Option<Tensor>) -> Result<Linear> {
        match self.packed(name)? {
            Some(m) => {
                let bias = bias.map(|b| b.to_vec1::<f32>()).transpose().map_err(engine_err)?;
                Ok(Linear::Packed(QuantLinear::new(Arc::new(m), bias)?))
            }
            None => {
                let weight = QMatMul::from_qtensor(self.qtensor(name)?).map_err(engine_err)?;
                Ok(Linear::Candle { weight, bias })
            }
        }
    }

    fn has(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    fn vector(&mut self, name: &str) -> Result<Tensor> {
        self.qtensor(name)?.dequantize(self.device).map_err(engine_err)
    }

    fn optional_vector(&mut self, name: &str) -> Result<Option<Tensor>> {
        if self.has(name) { self.vector(name).map(Some) } else { Ok(None) }
    }

    fn linear(&mut self, name: &str) -> Result<Linear> {
        let bias = self.optional_vector(&format!("{name}.bias"))?;
        self.matrix(&format!("{name}.weight"), bias)
    }
}

impl Model {
    /// Loads the model at `path` onto `device`; `info` is that file's header (read with any [`gguf::ReadOptions`]:
    /// only the tensor infos and the hyperparameters are used). `progress` gets the loaded fraction, 0 to 1.
    pub fn load(path: &Path, info: &GgufInfo, device: &Device, progress: &mut dyn FnMut(f32)) -> Result<Model> {
        Model::load_with(path, info, ModelConfig::from_gguf(info)?, device, progress)
    }

    /// [`Model::load`] with `config` already read from `info` (the scheduler reads it first, to size the caches).
    pub fn load_with(
        path: &Path,
        info: &GgufInfo,
        config: ModelConfig,
        device: &Device,
        progress: &mut dyn FnMut(f32),
    ) -> Result<Model> {
        let tensors = tensor_infos(info)?;
        let file = File::open(path).context(|| format!("opening {}", path.display()))?;
        let reader = BufReader::with_capacity(1 << 20, file);
        let total = tensors
            .values()
            .map(|t| (t.shape.elem_count() / t.ggml_dtype.block_size() * t.ggml_dtype.type_size()) as u64)
            .sum();
        let mut l =
            Loader { tensors, data_offset: info.data_offset, reader, device, total, loaded: 0, resident: 0, progress };

        // Untied embeddings are looked up a row at a time: a decoding step does not read them.
        let mut lookup_only = 0;
        let (embeddings, output) = if l.has("output.weight") {
            let before = l.resident;
            let embeddings = Embeddings::Candle(Arc::new(l.qtensor("token_embd.weight")?));
            lookup_only = l.resident - before;
            (embeddings, l.matrix("output.weight", None)?)
        } else if let Some(m) = l.packed("token_embd.weight")? {
            // Tied embeddings: the same quantized matrix serves both ends.
            let m = Arc::new(m);
            (Embeddings::Packed(m.clone()), Linear::Packed(QuantLinear::new(m, None)?))
        } else {
            let t = Arc::new(l.qtensor("token_embd.weight")?);
            let weight = QMatMul::from_arc(t.clone()).map_err(engine_err)?;
            (Embeddings::Candle(t), Linear::Candle { weight, bias: None })
        };
        let output_norm = l.vector("output_norm.weight")?;
        let rope_freq_factors = if l.has("rope_freqs.weight") {
            Some(l.vector("rope_freqs.weight")?.to_vec1::<f32>().map_err(engine_err)?)
        } else {
            None
        };
        let mut layers = Vec::with_capacity(config.n_layer);
        for il in 0..config.n_layer {
            let p = format!("blk.{il}");
            layers.push(Layer {
                attn_norm: l.vector(&format!("{p}.attn_norm.weight"))?,
                wq: l.linear(&format!("{p}.attn_q"))?,
                wk: l.linear(&format!("{p}.attn_k"))?,
                wv: l.linear(&format!("{p}.attn_v"))?,
                wo: l.linear(&format!("{p}.attn_output"))?,
                q_norm: l.optional_vector(&format!("{p}.attn_q_norm.weight"))?,
                k_norm: l.optional_vector(&format!("{p}.attn_k_norm.weight"))?,
                post_attn_norm: l.optional_vector(&format!("{p}.post_attention_norm.weight"))?,
                ffn_norm: l.vector(&format!("{p}.ffn_norm.weight"))?,
                gate: l.linear(&format!("{p}.ffn_gate"))?,
                up: l.linear(&format!("{p}.ffn_up"))?,
                down: l.linear(&format!("{p}.ffn_down"))?,
                post_ffn_norm: l.optional_vector(&format!("{p}.post_ffw_norm.weight"))?,
            });
        }
        (l.progress)(1.0);
        Ok(Model {
            config,
            device: device.clone(),
            embeddings,
            layers,
            output_norm,
            output,
            rope_freq_factors,
            weight_bytes: l.resident as usize,
            bytes_per_token: (l.resident - lookup_only) as usize,
        })
    }
}

/// `info`'s tensors as candle reads them. A tensor of a type candle cannot read makes the file unloadable, as
/// candle's own header reader would have it.
fn tensor_infos(info: &GgufInfo) -> Result<HashMap<&str, gguf_file::TensorInfo>> {
    info.tensors
        .iter()
        .map(|t| {
            let name = gguf::short(&t.name);
            let ggml_dtype = candle_dtype(t.ggml_type).ok_or_else(|| {
                Error::InvalidGguf(format!("tensor '{name}' is of type {}, which cannot be loaded", t.type_name()))
            })?;
            // ggml lists dimensions innermost first, candle outermost first.
            let dims = t.dims.iter().rev().map(|&d| usize::try_from(d)).collect::<std::result::Result<Vec<_>, _>>();
            let dims =
                dims.map_err(|_| Error::InvalidGguf(format!("tensor '{name}' is too large for this machine")))?;
            Ok((t.name.as_str(), gguf_file::TensorInfo { ggml_dtype, shape: dims.into(), offset: t.offset }))
        })
        .collect()
}

/// candle's type for a ggml type id (candle keeps its own mapping private); `None` for the types it cannot read.
fn candle_dtype(ggml_type: u32) -> Option<GgmlDType> {
    Some(match ggml_type {
        0 => GgmlDType::F32,
        1 => GgmlDType::F16,
        2 => GgmlDType::Q4_0,
        3 => GgmlDType::Q4_1,
        6 => GgmlDType::Q5_0,
        7 => GgmlDType::Q5_1,
        8 => GgmlDType::Q8_0,
        9 => GgmlDType::Q8_1,
        10 => GgmlDType::Q2K,
        11 => GgmlDType::Q3K,
        12 => GgmlDType::Q4K,
        13 => GgmlDType::Q5K,
        14 => GgmlDType::Q6K,
        15 => GgmlDType::Q8K,
        30 => GgmlDType::BF16,
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::gguf::writer::GgufWriter;
    use crate::gguf::{ReadOptions, read_info, read_info_from};
    use crate::inference::model::tiny;

    /// The tensor infos taken from our header reader are the ones candle's own reader finds, data offset included.
    #[test]
    fn tensor_infos_are_candles() {
        let bytes = tiny::writer().to_bytes();
        let info = read_info_from(Cursor::new(&bytes), &ReadOptions::default()).unwrap();
        let ours = tensor_infos(&info).unwrap();
        let candle = gguf_file::Content::read(&mut Cursor::new(&bytes)).unwrap();
        assert_eq!(info.data_offset, candle.tensor_data_offset);
        assert_eq!(ours.len(), candle.tensor_infos.len());
        for (name, c) in &candle.tensor_infos {
            let t = &ours[name.as_str()];
            assert_eq!((t.ggml_dtype, &t.shape, t.offset), (c.ggml_dtype, &c.shape, c.offset), "{name}");
        }
    }

    #[test]
    fn loads_the_tiny_model_and_runs_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.gguf");
        tiny::writer().write_to(&path).unwrap();
        let info = read_info(&path, &ReadOptions::default()).unwrap();
        let mut fractions = Vec::new();
        let model = Model::load(&path, &info, &Device::Cpu, &mut |p| fractions.push(p)).unwrap();
        assert_eq!(model.config, ModelConfig::from_gguf(&info).unwrap());
        assert!(fractions.windows(2).all(|w| w[0] <= w[1]) && fractions.last() == Some(&1.0), "{fractions:?}");
        let mut cache = model.new_cache(16).unwrap();
        let logits = model.forward(&[1, 4, 5], &mut cache).unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(logits.len(), model.config.n_vocab);
        assert!(logits.iter().all(|l| l.is_finite()));
        // Tied embeddings double as the output projection: a decoding step reads every weight.
        assert_eq!(model.bytes_per_token(), model.weight_bytes());

        // Untied ones are looked up a row at a time: a step reads all but them (264 rows of 32, Q8_0).
        let path = dir.path().join("untied.gguf");
        tiny::untied().write_to(&path).unwrap();
        let info = read_info(&path, &ReadOptions::default()).unwrap();
        let untied = Model::load(&path, &info, &Device::Cpu, &mut |_| {}).unwrap();
        assert_eq!(untied.weight_bytes() - untied.bytes_per_token(), 264 * 32 / 32 * 34);
        let logits = untied.forward(&[1, 4, 5], &mut untied.new_cache(16).unwrap()).unwrap();
        assert_eq!(logits.dims(), [264]);
    }

    #[test]
    fn missing_and_unreadable_tensors_are_invalid_gguf() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.gguf");
        tiny::writer().write_to(&path).unwrap();
        let info = read_info(&path, &ReadOptions::default()).unwrap();
        // One layer more than the file holds.
        let config = ModelConfig { n_layer: 3, ..ModelConfig::from_gguf(&info).unwrap() };
        let err = Model::load_with(&path, &info, config, &Device::Cpu, &mut |_| {}).unwrap_err();
        assert!(matches!(&err, Error::InvalidGguf(m) if m == "the model has no tensor 'blk.2.attn_norm.weight'"));

        let mut w = GgufWriter::new();
        w.tensor("blk.0.ffn_up.weight", &[256], 16, &[0u8; 66]);
        let info = read_info_from(Cursor::new(w.to_bytes()), &ReadOptions::default()).unwrap();
        let err = tensor_infos(&info).unwrap_err();
        assert_eq!(err.code(), "invalid_gguf");
        assert!(err.to_string().contains("'blk.0.ffn_up.weight' is of type IQ2_XXS"), "{err}");
    }
}
