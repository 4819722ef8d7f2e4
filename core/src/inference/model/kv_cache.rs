//! Keys and values of the tokens seen so far, preallocated for the whole context so that a step writes in
//! place instead of re-concatenating the cache (which made every token O(context) in candle's own models).
//!
//! On the CPU the cache is plain memory: the decode path (`attention::decode`) reads and writes it directly,
//! without a tensor operation per step. Elsewhere it is a pair of device tensors.

use candle_core::{DType, Device, Tensor};

use crate::error::{Error, Result};
use crate::inference::model::engine_err;

/// One layer's cache: `[n_head_kv, capacity, head_dim]` for keys and for values.
#[derive(Debug)]
enum LayerCache {
    Host { k: Vec<f32>, v: Vec<f32> },
    Device { k: Tensor, v: Tensor },
}

/// The cache of a whole model for one sequence.
#[derive(Debug)]
pub struct KvCache {
    layers: Vec<LayerCache>,
    n_head_kv: usize,
    head_dim: usize,
    capacity: usize,
    /// Tokens whose keys and values are stored (positions `0..len`).
    len: usize,
    /// The tokens those positions hold, to find the prefix a new prompt shares with the cache.
    tokens: Vec<u32>,
}

/// One layer's keys and values in host memory, for the decode path: head `h`'s position `p` starts at
/// `(h * capacity + p) * head_dim`.
pub(crate) struct HostLayer<'a> {
    pub k: &'a mut [f32],
    pub v: &'a mut [f32],
    pub capacity: usize,
}

impl KvCache {
    /// A cache for `capacity` tokens.
    pub fn new(n_layer: usize, n_head_kv: usize, head_dim: usize, capacity: usize, device: &Device) -> Result<Self> {
        let n = n_head_kv * capacity * head_dim;
        let layers = (0..n_layer)
            .map(|_| {
                if device.is_cpu() {
                    return Ok(LayerCache::Host { k: vec![0f32; n], v: vec![0f32; n] });
                }
                let zeros = || Tensor::zeros((n_head_kv, capacity, head_dim), DType::F32, device).map_err(engine_err);
                Ok(LayerCache::Device { k: zeros()?, v: zeros()? })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(KvCache { layers, n_head_kv, head_dim, capacity, len: 0, tokens: Vec::with_capacity(capacity) })
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

    /// Whether the cache is in host memory (the CPU's).
    pub(crate) fn is_host(&self) -> bool {
        self.layers.iter().all(|l| matches!(l, LayerCache::Host { .. }))
    }

    /// Layer `il`'s memory where the cache is on the host.
    pub(crate) fn host_layer(&mut self, il: usize) -> Option<HostLayer<'_>> {
        match &mut self.layers[il] {
            LayerCache::Host { k, v } => Some(HostLayer { k, v, capacity: self.capacity }),
            LayerCache::Device { .. } => None,
        }
    }

    /// Writes the keys and values of `new` tokens of layer `il` at `pos` (`[n_head_kv, new, head_dim]` each) and
    /// returns the keys and values of positions `from..pos + new` (`[n_head_kv, pos + new - from, head_dim]`).
    pub(crate) fn append(
        &mut self,
        il: usize,
        pos: usize,
        k: &Tensor,
        v: &Tensor,
        from: usize,
    ) -> Result<(Tensor, Tensor)> {
        let new = k.dim(1).map_err(engine_err)?;
        let end = pos + new;
        let (nkv, hd, cap) = (self.n_head_kv, self.head_dim, self.capacity);
        match &mut self.layers[il] {
            LayerCache::Device { k: ck, v: cv } => {
                ck.slice_set(&k.contiguous().map_err(engine_err)?, 1, pos).map_err(engine_err)?;
                cv.slice_set(&v.contiguous().map_err(engine_err)?, 1, pos).map_err(engine_err)?;
                let k_all = ck.narrow(1, from, end - from).map_err(engine_err)?;
                let v_all = cv.narrow(1, from, end - from).map_err(engine_err)?;
                Ok((k_all, v_all))
            }
            LayerCache::Host { k: ck, v: cv } => {
                if end > cap || k.dims() != [nkv, new, hd] || v.dims() != [nkv, new, hd] {
                    return Err(Error::Engine(format!("{new} keys at {pos} in a cache of {cap}")));
                }
                let values = |t: &Tensor| t.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(engine_err);
                let (k, v) = (values(k)?, values(v)?);
                let rows = end - from;
                let mut k_all = Vec::with_capacity(nkv * rows * hd);
                let mut v_all = Vec::with_capacity(nkv * rows * hd);
                for h in 0..nkv {
                    let at = (h * cap + pos) * hd;
                    ck[at..at + new * hd].copy_from_slice(&k[h * new * hd..(h + 1) * new * hd]);
                    cv[at..at + new * hd].copy_from_slice(&v[h * new * hd..(h + 1) * new * hd]);
                    let span = (h * cap + from) * hd..(h * cap + end) * hd;
                    k_all.extend_from_slice(&ck[span.clone()]);
                    v_all.extend_from_slice(&cv[span]);
                }
                let k_all = Tensor::from_vec(k_all, (nkv, rows, hd), &Device::Cpu).map_err(engine_err)?;
                let v_all = Tensor::from_vec(v_all, (nkv, rows, hd), &Device::Cpu).map_err(engine_err)?;
                Ok((k_all, v_all))
            }
        }
    }

    /// Records that `tokens` now occupy positions `pos..`; called once per forward pass after all layers.
    pub(crate) fn commit(&mut self, pos: usize, tokens: &[u32]) {
        self.tokens.truncate(pos);
        self.tokens.extend_from_slice(tokens);
        self.len = pos + tokens.len();
    }
}
