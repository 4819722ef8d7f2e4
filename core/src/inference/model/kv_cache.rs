//! Keys and values of the tokens seen so far, preallocated for the whole context so that a step writes in
//! place instead of re-concatenating the cache (which made every token O(context) in candle's own models).
//!
//! Two stores:
//! - **Host** (the CPU's default): plain memory per sequence, which the CPU's decode path
//!   (`attention::prepare`, `attention::head`) reads and writes directly, without a tensor operation per step.
//! - **Pooled** (every other device, and the CPU when asked): the caches of all of a model's slots in one
//!   tensor per layer on the model's device ([`KvPool`]), so that a decoding step of every slot writes its new
//!   keys with one scatter and reads all the slots' keys with one gather: one forward pass for the whole batch,
//!   with no copy through the host.

use std::sync::Arc;

use candle_core::{DType, Device, Tensor};

use crate::error::{Error, Result};
use crate::inference::model::engine_err;

/// The caches of several sequences ("slots") on one device. Per layer, keys and values are
/// `[capacity, slots, n_head_kv, head_dim]`: position-major, so the first `n` positions of every slot are one
/// contiguous block, which a batch's attention gathers without reading the rest of the context.
#[derive(Debug)]
pub(crate) struct KvPool {
    layers: Vec<(Tensor, Tensor)>,
    slots: usize,
    n_head_kv: usize,
    head_dim: usize,
    capacity: usize,
    device: Device,
}

impl KvPool {
    fn new(
        n_layer: usize,
        n_head_kv: usize,
        head_dim: usize,
        capacity: usize,
        slots: usize,
        device: &Device,
    ) -> Result<Self> {
        let layers = (0..n_layer)
            .map(|_| {
                let zeros =
                    || Tensor::zeros((capacity, slots, n_head_kv, head_dim), DType::F32, device).map_err(engine_err);
                Ok((zeros()?, zeros()?))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(KvPool { layers, slots, n_head_kv, head_dim, capacity, device: device.clone() })
    }

    pub(crate) fn device(&self) -> &Device {
        &self.device
    }

    /// The row of `(pos, slot, head)` when a layer is seen as `[capacity * slots * n_head_kv, head_dim]`.
    fn row(&self, pos: usize, slot: usize, head: usize) -> usize {
        (pos * self.slots + slot) * self.n_head_kv + head
    }

    /// The scatter index for new keys of `(slot, pos)` pairs, every head of each: `[pairs * n_head_kv, head_dim]`
    /// (candle's scatter wants one index per value). Built once per step and used by every layer.
    pub(crate) fn write_index(&self, at: &[(usize, usize)]) -> Result<Tensor> {
        let hd = self.head_dim;
        let mut idx = Vec::with_capacity(at.len() * self.n_head_kv * hd);
        for &(slot, pos) in at {
            if slot >= self.slots || pos >= self.capacity {
                return Err(Error::Engine(format!(
                    "position {pos} of slot {slot} in a pool of {} x {}",
                    self.slots, self.capacity
                )));
            }
            for h in 0..self.n_head_kv {
                let row =
                    u32::try_from(self.row(pos, slot, h)).map_err(|_| Error::Engine("KV pool too large".into()))?;
                idx.extend(std::iter::repeat_n(row, hd));
            }
        }
        Tensor::from_vec(idx, (at.len() * self.n_head_kv, hd), &self.device).map_err(engine_err)
    }

    /// Writes keys and values (`[rows, head_dim]` each, in the order of the index) of layer `il` at the rows of
    /// `index` (from [`KvPool::write_index`]).
    pub(crate) fn write(&self, il: usize, index: &Tensor, k: &Tensor, v: &Tensor) -> Result<()> {
        let (ck, cv) = &self.layers[il];
        let rows = self.capacity * self.slots * self.n_head_kv;
        for (cache, new) in [(ck, k), (cv, v)] {
            let flat = cache.reshape((rows, self.head_dim)).map_err(engine_err)?;
            flat.scatter_set(index, &new.contiguous().map_err(engine_err)?, 0).map_err(engine_err)?;
        }
        Ok(())
    }

    /// Keys and values of positions `0..len` of the slots in `slots` (u32 `[batch]`) in layer `il`:
    /// `[batch, n_head_kv, len, head_dim]` each, contiguous.
    pub(crate) fn gather(&self, il: usize, slots: &Tensor, len: usize) -> Result<(Tensor, Tensor)> {
        let (ck, cv) = &self.layers[il];
        let one = |t: &Tensor| {
            t.narrow(0, 0, len)
                .and_then(|t| t.index_select(slots, 1))
                .and_then(|t| t.permute((1, 2, 0, 3)))
                .and_then(|t| t.contiguous())
                .map_err(engine_err)
        };
        Ok((one(ck)?, one(cv)?))
    }

    /// Keys and values of positions `from..end` of one slot in layer `il`: `[n_head_kv, end - from, head_dim]`.
    fn span(&self, il: usize, slot: usize, from: usize, end: usize) -> Result<(Tensor, Tensor)> {
        let (ck, cv) = &self.layers[il];
        let one = |t: &Tensor| {
            t.narrow(0, from, end - from)
                .and_then(|t| t.narrow(1, slot, 1))
                .and_then(|t| t.squeeze(1))
                .and_then(|t| t.transpose(0, 1))
                .and_then(|t| t.contiguous())
                .map_err(engine_err)
        };
        Ok((one(ck)?, one(cv)?))
    }
}

/// Where a sequence's keys and values live.
#[derive(Debug)]
enum Store {
    /// Per layer, keys and values `[n_head_kv, capacity, head_dim]` in host memory.
    Host(Vec<(Vec<f32>, Vec<f32>)>),
    /// Slot `slot` of a pool shared with the model's other slots.
    Pooled { pool: Arc<KvPool>, slot: usize },
}

/// The cache of a whole model for one sequence.
#[derive(Debug)]
pub struct KvCache {
    store: Store,
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
    /// A cache for `capacity` tokens: in host memory on the CPU, elsewhere a pool of one slot on `device`.
    pub fn new(n_layer: usize, n_head_kv: usize, head_dim: usize, capacity: usize, device: &Device) -> Result<Self> {
        if device.is_cpu() {
            let n = n_head_kv * capacity * head_dim;
            let layers = (0..n_layer).map(|_| (vec![0f32; n], vec![0f32; n])).collect();
            return Ok(Self::with_store(Store::Host(layers), n_head_kv, head_dim, capacity));
        }
        Ok(Self::pooled(n_layer, n_head_kv, head_dim, capacity, 1, device)?.remove(0))
    }

    /// `slots` caches for `capacity` tokens each, sharing one pool on `device` (any device, the CPU too), so
    /// that [`crate::inference::model::Model::forward_batch`] runs them in one pass there.
    pub fn pooled(
        n_layer: usize,
        n_head_kv: usize,
        head_dim: usize,
        capacity: usize,
        slots: usize,
        device: &Device,
    ) -> Result<Vec<Self>> {
        let pool = Arc::new(KvPool::new(n_layer, n_head_kv, head_dim, capacity, slots.max(1), device)?);
        Ok((0..slots.max(1))
            .map(|slot| Self::with_store(Store::Pooled { pool: pool.clone(), slot }, n_head_kv, head_dim, capacity))
            .collect())
    }

    fn with_store(store: Store, n_head_kv: usize, head_dim: usize, capacity: usize) -> Self {
        KvCache { store, n_head_kv, head_dim, capacity, len: 0, tokens: Vec::with_capacity(capacity) }
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
        matches!(self.store, Store::Host(_))
    }

    /// The pool and slot of a pooled cache.
    pub(crate) fn pool_slot(&self) -> Option<(&Arc<KvPool>, usize)> {
        match &self.store {
            Store::Pooled { pool, slot } => Some((pool, *slot)),
            Store::Host(_) => None,
        }
    }

    /// Layer `il`'s memory where the cache is on the host.
    pub(crate) fn host_layer(&mut self, il: usize) -> Option<HostLayer<'_>> {
        match &mut self.store {
            Store::Host(layers) => {
                let (k, v) = &mut layers[il];
                Some(HostLayer { k, v, capacity: self.capacity })
            }
            Store::Pooled { .. } => None,
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
        if end > cap || k.dims() != [nkv, new, hd] || v.dims() != [nkv, new, hd] {
            return Err(Error::Engine(format!("{new} keys at {pos} in a cache of {cap}")));
        }
        match &mut self.store {
            Store::Pooled { pool, slot } => {
                let at: Vec<(usize, usize)> = (pos..end).map(|p| (*slot, p)).collect();
                let index = pool.write_index(&at)?;
                // [nkv, new, hd] -> [new * nkv, hd]: position-major, as the index lists the rows.
                let rows = |t: &Tensor| {
                    t.transpose(0, 1).and_then(|t| t.contiguous()).and_then(|t| t.reshape((new * nkv, hd)))
                };
                pool.write(il, &index, &rows(k).map_err(engine_err)?, &rows(v).map_err(engine_err)?)?;
                pool.span(il, *slot, from, end)
            }
            Store::Host(layers) => {
                let (ck, cv) = &mut layers[il];
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
