//! The transformer forward pass on candle's quantized tensors, for the families in [`Arch`].
//!
//! One implementation serves all families: they differ in a few switches (RoPE style, q/k biases or norms,
//! post-norms, GELU or SiLU, sliding windows, soft-capping) read from the GGUF by [`ModelConfig`]. The code
//! follows llama.cpp's graphs, which are the reference the tests compare against.
//!
//! `loader` builds a [`Model`] from a GGUF file; `forward` runs it.

mod attention;
mod batch;
mod config;
mod forward;
mod geglu;
mod kv_cache;
mod loader;
pub mod profile;
mod repack;
mod rms_norm;
mod rope;
#[cfg(test)]
pub(crate) mod tiny;
mod weights;

use candle_core::{Device, Tensor};

pub use config::{Arch, ModelConfig, RopeStyle};
pub use kv_cache::KvCache;

use weights::{Embeddings, Linear};

use crate::error::{Error, Result};

/// Wraps a candle error as the core's engine error.
pub(crate) fn engine_err(e: candle_core::Error) -> Error {
    Error::Engine(e.to_string())
}

#[derive(Debug)]
struct Layer {
    attn_norm: Tensor,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    wo: Linear,
    q_norm: Option<Tensor>,
    k_norm: Option<Tensor>,
    post_attn_norm: Option<Tensor>,
    ffn_norm: Tensor,
    gate: Linear,
    up: Linear,
    down: Linear,
    post_ffn_norm: Option<Tensor>,
}

/// A loaded model: weights on a device plus its config. Immutable and shareable; sequences keep their own
/// [`KvCache`].
#[derive(Debug)]
pub struct Model {
    pub config: ModelConfig,
    device: Device,
    embeddings: Embeddings,
    layers: Vec<Layer>,
    output_norm: Tensor,
    output: Linear,
    rope_freq_factors: Option<Vec<f32>>,
    weight_bytes: usize,
    bytes_per_token: usize,
}

impl Model {
    /// Bytes of weights held on the device.
    pub fn weight_bytes(&self) -> usize {
        self.weight_bytes
    }

    /// Bytes of weights a decoding step reads: all of them but untied token embeddings (one row each). What
    /// bounds decoding where memory is the limit: tokens/s <= memory bandwidth / this.
    pub fn bytes_per_token(&self) -> usize {
        self.bytes_per_token
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// A cache for `capacity` tokens of one sequence.
    pub fn new_cache(&self, capacity: usize) -> Result<KvCache> {
        let c = &self.config;
        KvCache::new(c.n_layer, c.n_head_kv, c.head_dim, capacity, &self.device)
    }

    /// Caches for `n` sequences ("slots") of `capacity` tokens each, the way [`Model::forward_batch`] runs
    /// them fastest: on the CPU each in host memory (its own attention kernels); on any other device one pool in
    /// device memory, so that a decoding step of all of them is one forward pass there.
    pub fn new_caches(&self, n: usize, capacity: usize) -> Result<Vec<KvCache>> {
        if self.device.is_cpu() {
            return (0..n.max(1)).map(|_| self.new_cache(capacity)).collect();
        }
        self.new_pooled_caches(n, capacity)
    }

    /// Caches for `n` sequences sharing one pool on the model's device, the CPU included (where it runs the
    /// device path on plain tensors: how the tests and the GPU check's CPU rehearsal exercise it).
    pub fn new_pooled_caches(&self, n: usize, capacity: usize) -> Result<Vec<KvCache>> {
        let c = &self.config;
        KvCache::pooled(c.n_layer, c.n_head_kv, c.head_dim, capacity, n, &self.device)
    }
}
