//! Builds a [`Model`] from a GGUF file: reads its tensors onto the device, packs the matrices the core's kernels
//! multiply (streamed from the file, no second copy), re-encodes the ones candle runs faster in another format,
//! and reports the loaded fraction as it goes.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor, gguf_file};
use candle_core::{Device, Tensor};

use super::weights::{self, Embeddings, Linear};
use super::{Layer, Model, ModelConfig, engine_err, repack};
use crate::error::{Error, IoContext, Result};
use crate::inference::cpu_kernels::{QuantLinear, QuantMatrix};

/// Reads tensors out of a GGUF file, reporting progress as it goes.
struct Loader<'a> {
    content: gguf_file::Content,
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
        let t = self.content.tensor(&mut self.reader, name, self.device).map_err(|e| {
            if self.content.tensor_infos.contains_key(name) {
                engine_err(e)
            } else {
                Error::InvalidGguf(format!("the model has no tensor '{name}'"))
            }
        })?;
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
        let Some(info) = self.content.tensor_infos.get(name) else { return Ok(None) };
        let Some(ty) = weights::packed_type(info.ggml_dtype, self.device) else { return Ok(None) };
        let Ok((rows, cols)) = info.shape.dims2() else { return Ok(None) };
        let start = self.content.tensor_data_offset.saturating_add(info.offset);
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
        self.content.tensor_infos.contains_key(name)
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
    /// Loads the model at `path` onto `device`. `progress` gets the loaded fraction, 0 to 1.
    pub fn load(
        path: &Path,
        info: &crate::gguf::GgufInfo,
        device: &Device,
        progress: &mut dyn FnMut(f32),
    ) -> Result<Model> {
        let config = ModelConfig::from_gguf(info)?;
        let file = File::open(path).context(|| format!("opening {}", path.display()))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let content = gguf_file::Content::read(&mut reader).map_err(|e| Error::InvalidGguf(e.to_string()))?;
        let total = content
            .tensor_infos
            .values()
            .map(|t| (t.shape.elem_count() / t.ggml_dtype.block_size() * t.ggml_dtype.type_size()) as u64)
            .sum();
        let mut l = Loader { content, reader, device, total, loaded: 0, resident: 0, progress };

        let (embeddings, output) = if l.has("output.weight") {
            (Embeddings::Candle(Arc::new(l.qtensor("token_embd.weight")?)), l.matrix("output.weight", None)?)
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
        })
    }
}
