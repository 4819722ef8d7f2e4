//! Keys and values of the tokens seen so far, preallocated for the whole context so that a step writes in
//! place instead of re-concatenating the cache (which made every token O(context) in candle's own models).

use candle_core::{DType, Device, Tensor};

use crate::error::Result;
use crate::inference::model::engine_err;

/// One layer's cache: `[n_head_kv, capacity, head_dim]` for keys and for values.
#[derive(Debug)]
struct LayerCache {
    k: Tensor,
    v: Tensor,
}

/// The cache of a whole model for one sequence.
#[derive(Debug)]
pub struct KvCache {
    layers: Vec<LayerCache>,
    capacity: usize,
    /// Tokens whose keys and values are stored (positions `0..len`).
    len: usize,
    /// The tokens those positions hold, to find the prefix a new prompt shares with the cache.
    tokens: Vec<u32>,
}

impl KvCache {
    /// A cache for `capacity` tokens.
    pub fn new(n_layer: usize, n_head_kv: usize, head_dim: usize, capacity: usize, device: &Device) -> Result<Self> {
        let layers = (0..n_layer)
            .map(|_| {
                Ok(LayerCache {
                    k: Tensor::zeros((n_head_kv, capacity, head_dim), DType::F32, device).map_err(engine_err)?,
                    v: Tensor::zeros((n_head_kv, capacity, head_dim), DType::F32, device).map_err(engine_err)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(KvCache { layers, capacity, len: 0, tokens: Vec::with_capacity(capacity) })
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Tokens cached so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The cached tokens.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Forgets everything after the first `len` tokens (the shared prefix of the next prompt stays).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
        self.tokens.truncate(self.len);
    }

    /// Writes the keys and values of `new` tokens of layer `il` at `pos` (`[n_head_kv, new, head_dim]` each) and
    /// returns views of the keys and values of positions `from..pos + new`.
    pub(crate) fn append(
        &mut self,
        il: usize,
        pos: usize,
        k: &Tensor,
        v: &Tensor,
        from: usize,
    ) -> Result<(Tensor, Tensor)> {
        let layer = &mut self.layers[il];
        let new = k.dim(1).map_err(engine_err)?;
        layer.k.slice_set(&k.contiguous().map_err(engine_err)?, 1, pos).map_err(engine_err)?;
        layer.v.slice_set(&v.contiguous().map_err(engine_err)?, 1, pos).map_err(engine_err)?;
        let end = pos + new;
        let k_all = layer.k.narrow(1, from, end - from).map_err(engine_err)?;
        let v_all = layer.v.narrow(1, from, end - from).map_err(engine_err)?;
        Ok((k_all, v_all))
    }

    /// Records that `tokens` now occupy positions `pos..`; called once per forward pass after all layers.
    pub(crate) fn commit(&mut self, pos: usize, tokens: &[u32]) {
        self.tokens.truncate(pos);
        self.tokens.extend_from_slice(tokens);
        self.len = pos + tokens.len();
    }
}
