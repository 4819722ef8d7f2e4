//! CPU matrix products on ggml-quantized weights, written for this project (ggml's formats, our own layouts and
//! kernels).
//!
//! A [`QuantMatrix`] holds a weight matrix (`rows` output features by `cols` input features) in one of ggml's
//! quantized formats, repacked at load into groups of eight rows (see `layout`: the same size as the file's
//! blocks, give or take the K-quants' unpacked scales). [`QuantMatrix::matmul`] takes `m` f32 activation rows,
//! quantizes them once the way ggml does (Q8_0 blocks for the 32-element formats, Q8_K for the K-quants), and
//! computes integer dot products:
//!
//! - threads split the row groups (rayon);
//! - for each group and range of blocks, the packed integers are unpacked once into a small *panel* of bytes,
//!   reused by every activation row: that is what makes prompt processing (many rows) compute-bound instead of
//!   unpack-bound;
//! - a register-tiled kernel multiplies a panel with up to four activation rows at once, eight weight rows in
//!   the lanes of each register (AVX2 `maddubs`, integer sums per block, one f32 multiply-add per block).
//!
//! Decoding one token (one activation row) reads each group's packed blocks once, straight into registers
//! (`avx2::direct32`, `avx2::direct256`; `avx512::direct256` for Q4_K and Q6_K where the CPU has AVX-512 VNNI):
//! a panel would only add a store and a load per byte.
//! The x86-64 SIMD path is chosen at run time ([`Isa::detect`]); every other CPU runs the portable kernels,
//! which give the very same numbers.
#![allow(unsafe_code)]

mod act;
#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod blocks;
mod f16;
mod geglu;
mod layout;
mod micro;
mod op;
pub mod vec;

use std::cell::RefCell;
use std::io::Read;
use std::sync::OnceLock;

use rayon::prelude::*;

pub use geglu::geglu;
pub use layout::WeightType;
pub use op::QuantLinear;

use act::Acts;
use layout::ROWS;

use crate::error::{Error, IoContext, Result};

/// Which kernels run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Plain Rust, any CPU.
    Portable,
    /// x86-64 with AVX2, FMA and F16C.
    Avx2,
}

impl Isa {
    /// The best kernels this CPU runs (detected once).
    pub fn detect() -> Isa {
        static ISA: OnceLock<Isa> = OnceLock::new();
        *ISA.get_or_init(|| if Isa::Avx2.available() { Isa::Avx2 } else { Isa::Portable })
    }

    /// Whether this CPU can run these kernels.
    pub fn available(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                    && std::arch::is_x86_feature_detected!("f16c")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx2 => false,
        }
    }
}

/// 64-byte aligned storage, so that packed groups start on cache lines.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

#[derive(Default)]
struct Aligned {
    lines: Vec<Line>,
    len: usize,
}

impl Aligned {
    fn zeroed(len: usize) -> Aligned {
        Aligned { lines: vec![Line([0; 64]); len.div_ceil(64)], len }
    }

    fn ensure(&mut self, len: usize) {
        if self.lines.len() * 64 < len {
            self.lines.resize(len.div_ceil(64), Line([0; 64]));
        }
        self.len = len;
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `lines` owns `lines.len() * 64` initialised bytes and `len` never exceeds that; `Line` is plain
        // bytes (`repr(C)`, no padding).
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<u8>(), self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<u8>(), self.len) }
    }
}

/// A quantized weight matrix, packed for the kernels: `rows` outputs by `cols` inputs.
pub struct QuantMatrix {
    ty: WeightType,
    rows: usize,
    cols: usize,
    /// Blocks per row.
    blocks: usize,
    data: Aligned,
}

impl std::fmt::Debug for QuantMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuantMatrix").field("ty", &self.ty).field("rows", &self.rows).field("cols", &self.cols).finish()
    }
}

impl QuantMatrix {
    /// Packs `rows` rows of `cols` weights given as ggml's blocks of `ty`, row after row (a GGUF tensor of
    /// shape `[rows, cols]`).
    pub fn from_ggml(ty: WeightType, rows: usize, cols: usize, data: &[u8]) -> Result<QuantMatrix> {
        let row_bytes = Self::row_bytes(ty, rows, cols)?;
        if data.len() != rows * row_bytes {
            return Err(Error::InvalidGguf(format!(
                "{ty:?} data of {} bytes for a {rows} x {cols} matrix (expected {})",
                data.len(),
                rows * row_bytes
            )));
        }
        Self::read(ty, rows, cols, &mut &data[..])
    }

    /// As [`QuantMatrix::from_ggml`], reading the blocks from `reader`: a slab of rows at a time, so that
    /// loading a model never holds a second copy of a matrix.
    pub fn read(ty: WeightType, rows: usize, cols: usize, reader: &mut dyn Read) -> Result<QuantMatrix> {
        /// Row groups per slab (8 x 64 rows): enough to share among threads, small enough to stay in cache.
        const SLAB: usize = 64;
        let row_bytes = Self::row_bytes(ty, rows, cols)?;
        let blocks = cols / ty.block_elems();
        let (bb, pb) = (ty.ggml_block_bytes(), ty.packed_bytes());
        let stride = blocks * pb;
        let mut packed = Aligned::zeroed(rows.div_ceil(ROWS) * stride);
        let mut slab = vec![0u8; rows.min(SLAB * ROWS) * row_bytes];
        for (s, out) in packed.bytes_mut().chunks_mut(SLAB * stride).enumerate() {
            let n = (rows - s * SLAB * ROWS).min(SLAB * ROWS);
            let src = &mut slab[..n * row_bytes];
            reader.read_exact(src).context(|| format!("reading a {ty:?} matrix of {rows} x {cols}"))?;
            let src = &*src;
            out.par_chunks_mut(stride).enumerate().for_each(|(g, group)| {
                for b in 0..blocks {
                    let rows: [Option<&[u8]>; ROWS] = std::array::from_fn(|r| {
                        let row = g * ROWS + r;
                        (row < n).then(|| &src[row * row_bytes + b * bb..row * row_bytes + (b + 1) * bb])
                    });
                    layout::pack_block(ty, &rows, &mut group[b * pb..(b + 1) * pb]);
                }
            });
        }
        Ok(QuantMatrix { ty, rows, cols, blocks, data: packed })
    }

    /// Bytes per row of ggml blocks, where `cols` is whole blocks.
    fn row_bytes(ty: WeightType, rows: usize, cols: usize) -> Result<usize> {
        let be = ty.block_elems();
        if rows == 0 || cols == 0 || !cols.is_multiple_of(be) {
            return Err(Error::InvalidGguf(format!("a {ty:?} matrix of {rows} x {cols} is not whole blocks")));
        }
        Ok(cols / be * ty.ggml_block_bytes())
    }

    pub fn weight_type(&self) -> WeightType {
        self.ty
    }

    /// Output features.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input features.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes held.
    pub fn size_in_bytes(&self) -> usize {
        self.data.len
    }

    fn group(&self, g: usize) -> &[u8] {
        let stride = self.blocks * self.ty.packed_bytes();
        &self.data.bytes()[g * stride..(g + 1) * stride]
    }

    /// Row `row`, dequantized into `out` (`cols` values) as ggml dequantizes it (an embedding lookup).
    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) -> Result<()> {
        if row >= self.rows || out.len() != self.cols {
            return Err(Error::Engine(format!("row {row} of a {} x {} matrix", self.rows, self.cols)));
        }
        let group = self.group(row / ROWS);
        let pb = self.ty.packed_bytes();
        let be = self.ty.block_elems();
        for b in 0..self.blocks {
            let packed = &group[b * pb..(b + 1) * pb];
            let dst = &mut out[b * be..(b + 1) * be];
            if self.ty.is_k() {
                let blk = layout::unpack_row256(self.ty, packed, row % ROWS);
                blocks::dequant256(&blk, self.ty == WeightType::Q6_K, dst);
            } else {
                let blk = layout::unpack_row32(self.ty, packed, row % ROWS);
                let shift = self.ty.offset_shift();
                blocks::dequant32(&blk, shift.map_or(0, |s| 1 << s), shift.is_none(), dst);
            }
        }
        Ok(())
    }

    /// `out = x * self^T`: `x` is `m` rows of `cols` values, `out` `m` rows of `rows` values.
    pub fn matmul(&self, x: &[f32], m: usize, out: &mut [f32]) -> Result<()> {
        self.matmul_with(Isa::detect(), x, m, out)
    }

    /// [`QuantMatrix::matmul`] with the given kernels (for tests and benchmarks; falls back to the portable
    /// ones where `isa` is not available).
    pub fn matmul_with(&self, isa: Isa, x: &[f32], m: usize, out: &mut [f32]) -> Result<()> {
        if x.len() != m * self.cols || out.len() != m * self.rows {
            return Err(Error::Engine(format!(
                "matmul of {} inputs and {} outputs with a {} x {} matrix and {m} rows",
                x.len(),
                out.len(),
                self.rows,
                self.cols
            )));
        }
        if m == 0 {
            return Ok(());
        }
        let isa = if isa.available() { isa } else { Isa::Portable };
        thread_local! {
            static ACTS: RefCell<Acts> = RefCell::new(Acts::default());
        }
        ACTS.with(|acts| match acts.try_borrow_mut() {
            Ok(mut acts) => {
                self.quantize(isa, x, m, &mut acts);
                self.product(isa, &acts, out);
            }
            // Re-entered on this thread (not expected): use fresh buffers.
            Err(_) => {
                let mut acts = Acts::default();
                self.quantize(isa, x, m, &mut acts);
                self.product(isa, &acts, out);
            }
        });
        Ok(())
    }

    fn quantize(&self, isa: Isa, x: &[f32], m: usize, acts: &mut Acts) {
        let kq = self.ty.is_k();
        acts.resize(m, self.cols, kq);
        match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2` is only used where `available()` said so.
            Isa::Avx2 => unsafe { avx2::quantize_rows(x, acts, kq, 0..m) },
            _ => act::quantize_rows_scalar(x, acts, kq, 0..m),
        }
    }

    /// Blocks per unpacked chunk: a panel within ~32 KiB and the activations' chunk within ~256 KiB.
    fn chunk_blocks(&self, m: usize) -> usize {
        let panel_cap = (32 << 10) / self.ty.panel_bytes();
        let act_cap = (256 << 10) / (m * self.ty.block_elems());
        panel_cap.min(act_cap).clamp(1, self.blocks)
    }

    fn product(&self, isa: Isa, acts: &Acts, out: &mut [f32]) {
        let m = acts.m;
        let n = self.rows;
        let groups = n.div_ceil(ROWS);
        // One activation row without a panel (read straight from the packed blocks, or Q8_0's packed form is
        // its panel): whole rows, read front to back, rather than chunks hopping between groups.
        let direct = m == 1 && (self.ty == WeightType::Q8_0 || isa == Isa::Avx2);
        let kc = if direct { self.blocks } else { self.chunk_blocks(m) };
        // Tasks of a few groups each: enough of them to balance threads, few enough to keep overheads low.
        // On rayon, not candle's barrier pool: the barrier pool's spinning waits decoded 1.5B Q4_K_M ~10%
        // faster on an idle machine, but a waiter spins out its time slice whenever the other thread has no
        // core, and with more runnable threads than cores (two test processes, or other programs beside the
        // server) a request that took 149 s alone timed out in the parallel test run.
        let threads = rayon::current_num_threads().max(1);
        let per_task = groups.div_ceil(threads * 4).max(1);
        let tasks = groups.div_ceil(per_task);
        let out_ptr = SyncPtr(out.as_mut_ptr());
        let work = |t: usize| {
            let range = t * per_task..((t + 1) * per_task).min(groups);
            PANEL.with(|p| match p.try_borrow_mut() {
                Ok(mut panel) => self.groups_product(isa, acts, range, kc, &mut panel, out_ptr),
                Err(_) => self.groups_product(isa, acts, range, kc, &mut Aligned::default(), out_ptr),
            });
        };
        if tasks == 1 || threads == 1 {
            (0..tasks).for_each(work);
        } else {
            (0..tasks).into_par_iter().for_each(work);
        }
    }

    /// Computes output columns of row groups `range` for every activation row.
    fn groups_product(
        &self,
        isa: Isa,
        acts: &Acts,
        range: std::ops::Range<usize>,
        kc: usize,
        panel: &mut Aligned,
        out: SyncPtr,
    ) {
        let (m, n) = (acts.m, self.rows);
        let ty = self.ty;
        let pb = ty.packed_bytes();
        let mut c0 = 0;
        while c0 < self.blocks {
            let nb = kc.min(self.blocks - c0);
            for g in range.clone() {
                let packed = &self.group(g)[c0 * pb..(c0 + nb) * pb];
                #[cfg(target_arch = "x86_64")]
                if m == 1 && isa == Isa::Avx2 && ty != WeightType::Q8_0 {
                    let r0 = g * ROWS;
                    let valid = ROWS.min(n - r0);
                    let mut acc = [0f32; ROWS];
                    // SAFETY (both blocks): as below; `out` has `n` elements here.
                    if c0 > 0 {
                        unsafe { std::ptr::copy_nonoverlapping(out.0.add(r0), acc.as_mut_ptr(), valid) };
                    }
                    // SAFETY: `Isa::Avx2` is only used where `available()` said so.
                    unsafe {
                        if avx512::handles(ty) && avx512::available() {
                            avx512::direct256(ty, packed, nb, acts, 0, c0, &mut acc)
                        } else if ty.is_k() {
                            avx2::direct256(ty, packed, nb, acts, 0, c0, &mut acc)
                        } else {
                            avx2::direct32(ty, packed, nb, acts, 0, c0, &mut acc)
                        }
                    };
                    unsafe { std::ptr::copy_nonoverlapping(acc.as_ptr(), out.0.add(r0), valid) };
                    continue;
                }
                let panel: &[u8] = if ty == WeightType::Q8_0 {
                    packed
                } else {
                    panel.ensure(nb * ty.panel_bytes());
                    let buf = panel.bytes_mut();
                    match isa {
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: `Isa::Avx2` is only used where `available()` said so.
                        Isa::Avx2 => unsafe { avx2::unpack(ty, packed, nb, buf) },
                        _ => {
                            for b in 0..nb {
                                let (src, dst) = (&packed[b * pb..], &mut buf[b * ty.panel_bytes()..]);
                                if ty.is_k() { layout::panel256(ty, src, dst) } else { layout::panel32(ty, src, dst) }
                            }
                        }
                    }
                    panel.bytes()
                };
                let r0 = g * ROWS;
                let valid = ROWS.min(n - r0);
                let mut j0 = 0;
                while j0 < m {
                    let cols = j0..(j0 + 4).min(m);
                    let mut acc = [[0f32; ROWS]; 4];
                    if c0 > 0 {
                        for (a, j) in acc.iter_mut().zip(cols.clone()) {
                            // SAFETY: `out` has `m * n` elements (checked by `matmul_with`); `j < m` and
                            // `r0 + valid <= n`. Row groups are disjoint between tasks, so no other thread
                            // touches these elements.
                            unsafe { std::ptr::copy_nonoverlapping(out.0.add(j * n + r0), a.as_mut_ptr(), valid) };
                        }
                    }
                    self.tile(isa, panel, nb, acts, cols.clone(), c0, &mut acc);
                    for (a, j) in acc.iter().zip(cols.clone()) {
                        // SAFETY: as above.
                        unsafe { std::ptr::copy_nonoverlapping(a.as_ptr(), out.0.add(j * n + r0), valid) };
                    }
                    j0 = cols.end;
                }
            }
            c0 += nb;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn tile(
        &self,
        isa: Isa,
        panel: &[u8],
        nb: usize,
        acts: &Acts,
        cols: std::ops::Range<usize>,
        blk0: usize,
        acc: &mut [[f32; ROWS]],
    ) {
        let ty = self.ty;
        match (isa, ty.is_k()) {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2` is only used where `available()` said so.
            (Isa::Avx2, false) => unsafe {
                if avx512::available() {
                    avx512::tile32(panel, nb, acts, cols, blk0, ty.offset_shift(), acc)
                } else {
                    avx2::tile32(panel, nb, acts, cols, blk0, ty.offset_shift(), acc)
                }
            },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            (Isa::Avx2, true) => unsafe {
                if avx512::available() {
                    avx512::tile256(panel, nb, acts, cols, blk0, ty.mins_share_scale(), acc)
                } else {
                    avx2::tile256(panel, nb, acts, cols, blk0, ty.mins_share_scale(), acc)
                }
            },
            (_, false) => micro::tile32(panel, nb, acts, cols, blk0, ty.offset_shift(), acc),
            (_, true) => micro::tile256(panel, nb, acts, cols, blk0, ty.mins_share_scale(), acc),
        }
    }
}

thread_local! {
    static PANEL: RefCell<Aligned> = RefCell::new(Aligned::default());
}

/// The output pointer, shared by tasks that write disjoint parts of it.
#[derive(Clone, Copy)]
struct SyncPtr(*mut f32);
// SAFETY: tasks write disjoint row groups of the output, and `product` returns only after all of them finish.
unsafe impl Send for SyncPtr {}
// SAFETY: as above.
unsafe impl Sync for SyncPtr {}

#[cfg(test)]
mod tests;
