//! The packed layouts: how a [`super::QuantMatrix`] stores ggml's blocks, and the panels its kernels read.
//!
//! Rows are stored in groups of eight, block by block: a packed block holds the same block of eight rows, so
//! one pass over a group streams contiguous memory, and its integers are interleaved four at a time ("quads"):
//! quad `g` of a block is 32 bytes, `[row 0: elements 4g..4g+4][row 1: ...]...[row 7: ...]`, which is the
//! operand of one 256-bit `maddubs` against four activation bytes broadcast to every row. Bit fields are split
//! so that unpacking a quad is a shift and a mask:
//!
//! | type | packed block (8 rows) | bytes |
//! |---|---|---|
//! | Q8_0 | 8 f16 `d`, 8 quads of `i8` | 272 |
//! | Q4_0 | 8 f16 `d`, 4 nibble registers (quad `2i` in the low nibbles of register `i`, `2i+1` in the high) | 144 |
//! | Q5_0 | 8 f16 `d`, a bit register (bit `g` of byte `p` = 5th bit of quad `g`, byte `p`), 4 nibble registers | 176 |
//! | Q4_K | 8 f16 `d`, 8 f16 `dmin`, scales and mins (`u8`, `[sub-block][row]`), 32 nibble registers | 1184 |
//! | Q5_K | as Q4_K, then 8 bit registers (bit `t` of register `i`: quad `8i+t`) | 1440 |
//! | Q6_K | 8 f16 `d`, scales (`i8`, `[sub-block][row]`), 32 nibble registers, 16 two-bit registers (bits `2t, 2t+1` of register `i`: quad `4i+t`) | 1680 |
//!
//! Each is exactly eight ggml blocks' size, except the K-quants' unpacked 6-bit scales (+2.8% for Q4_K, +2.3%
//! for Q5_K). The kernels first unpack a range of blocks into a *panel* (one-byte integers in quads, plus
//! scales in the form the kernel wants), except Q8_0, whose packed form is already its panel:
//!
//! - 32-element panel block: 8 f16 `d`, then 8 quads of `q + offset` (or signed `q` for Q8_0): 272 bytes.
//! - K panel super-block: 64 quads of `q` (2048 bytes), 16 scale registers (`i16`, lanes `2r, 2r+1` = `sc` of
//!   row `r`), 8 min registers (`i16`, lanes `2r, 2r+1` = `m` of sub-blocks `2k, 2k+1` of row `r`), 8 `f32` `d`,
//!   8 `f32` `dmin`: 2880 bytes.

use super::blocks::{self, Block32, Block256};
use super::f16;

/// Rows per packed group.
pub(crate) const ROWS: usize = 8;
pub(crate) const PANEL32: usize = 272;
pub(crate) const PANEL256: usize = 2880;
pub(crate) const PANEL256_SC: usize = 2048;
pub(crate) const PANEL256_M: usize = 2560;
pub(crate) const PANEL256_D: usize = 2816;
pub(crate) const PANEL256_DMIN: usize = 2848;

/// The weight formats the kernels handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)]
pub enum WeightType {
    Q4_0,
    Q5_0,
    Q8_0,
    Q4_K,
    Q5_K,
    Q6_K,
}

impl WeightType {
    pub const ALL: [WeightType; 6] =
        [WeightType::Q4_0, WeightType::Q5_0, WeightType::Q8_0, WeightType::Q4_K, WeightType::Q5_K, WeightType::Q6_K];

    /// Elements per ggml block.
    pub fn block_elems(self) -> usize {
        if self.is_k() { 256 } else { 32 }
    }

    /// Bytes per ggml block.
    pub fn ggml_block_bytes(self) -> usize {
        match self {
            WeightType::Q4_0 => 18,
            WeightType::Q5_0 => 22,
            WeightType::Q8_0 => 34,
            WeightType::Q4_K => 144,
            WeightType::Q5_K => 176,
            WeightType::Q6_K => 210,
        }
    }

    /// Bytes per packed block of eight rows.
    pub(crate) fn packed_bytes(self) -> usize {
        match self {
            WeightType::Q4_0 => 144,
            WeightType::Q5_0 => 176,
            WeightType::Q8_0 => 272,
            WeightType::Q4_K => 1184,
            WeightType::Q5_K => 1440,
            WeightType::Q6_K => 1680,
        }
    }

    /// K-quants: activations are quantized per 256 elements (Q8_K), the others per 32 (Q8_0).
    pub(crate) fn is_k(self) -> bool {
        matches!(self, WeightType::Q4_K | WeightType::Q5_K | WeightType::Q6_K)
    }

    /// For the 32-element families, what the stored integers are offset by (`log2`), or `None` for Q8_0's
    /// signed integers.
    pub(crate) fn offset_shift(self) -> Option<u32> {
        match self {
            WeightType::Q4_0 => Some(3),
            WeightType::Q5_0 => Some(4),
            _ => None,
        }
    }

    /// Q6_K's min is its scale (`dmin = d`), so the two integer sums combine before scaling.
    pub(crate) fn mins_share_scale(self) -> bool {
        self == WeightType::Q6_K
    }

    pub(crate) fn panel_bytes(self) -> usize {
        if self.is_k() { PANEL256 } else { PANEL32 }
    }

    fn decode32(self, b: &[u8]) -> Block32 {
        match self {
            WeightType::Q4_0 => blocks::q4_0(b),
            WeightType::Q5_0 => blocks::q5_0(b),
            _ => blocks::q8_0(b),
        }
    }

    fn decode256(self, b: &[u8]) -> Block256 {
        match self {
            WeightType::Q4_K => blocks::q4_k(b),
            WeightType::Q5_K => blocks::q5_k(b),
            _ => blocks::q6_k(b),
        }
    }
}

/// Byte `p` of a quad register: row `p / 4`, element `4g + p % 4` of the block.
#[inline]
fn quad_src(g: usize, p: usize) -> (usize, usize) {
    (p / 4, 4 * g + p % 4)
}

fn put_u16(out: &mut [u8], at: usize, v: u16) {
    out[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

/// Packs one block of eight rows; `rows[r]` is row `r`'s ggml block (`None`: a padding row of zeros).
pub(crate) fn pack_block(ty: WeightType, rows: &[Option<&[u8]>; ROWS], out: &mut [u8]) {
    if ty.is_k() {
        let zero = Block256 { d: 0, dmin: 0, sc: [0; 16], m: [0; 16], q: [0; 256] };
        let b: [Block256; ROWS] = std::array::from_fn(|r| rows[r].map_or(zero, |s| ty.decode256(s)));
        pack256(ty, &b, out);
    } else {
        let zero =
            Block32 { d: 0, q: [if ty == WeightType::Q8_0 { 0 } else { 1 << ty.offset_shift().unwrap_or(0) }; 32] };
        let b: [Block32; ROWS] = std::array::from_fn(|r| rows[r].map_or(zero, |s| ty.decode32(s)));
        pack32(ty, &b, out);
    }
}

fn pack32(ty: WeightType, b: &[Block32; ROWS], out: &mut [u8]) {
    for (r, blk) in b.iter().enumerate() {
        put_u16(out, 2 * r, blk.d);
    }
    let q = |g: usize, p: usize| {
        let (r, k) = quad_src(g, p);
        b[r].q[k]
    };
    match ty {
        WeightType::Q8_0 => {
            for g in 0..8 {
                for p in 0..32 {
                    out[16 + 32 * g + p] = q(g, p);
                }
            }
        }
        WeightType::Q4_0 | WeightType::Q5_0 => {
            let nib = if ty == WeightType::Q5_0 { 48 } else { 16 };
            for i in 0..4 {
                for p in 0..32 {
                    out[nib + 32 * i + p] = q(2 * i, p) & 0x0f | (q(2 * i + 1, p) & 0x0f) << 4;
                }
            }
            if ty == WeightType::Q5_0 {
                for p in 0..32 {
                    out[16 + p] = (0..8).fold(0u8, |acc, g| acc | ((q(g, p) >> 4) & 1) << g);
                }
            }
        }
        _ => {}
    }
}

fn pack256(ty: WeightType, b: &[Block256; ROWS], out: &mut [u8]) {
    let q = |g: usize, p: usize| {
        let (r, k) = quad_src(g, p);
        b[r].q[k]
    };
    match ty {
        WeightType::Q4_K | WeightType::Q5_K => {
            for (r, blk) in b.iter().enumerate() {
                put_u16(out, 2 * r, blk.d);
                put_u16(out, 16 + 2 * r, blk.dmin);
                for j in 0..8 {
                    out[32 + 8 * j + r] = blk.sc[2 * j] as u8;
                    out[96 + 8 * j + r] = blk.m[2 * j] as u8;
                }
            }
            for i in 0..32 {
                for p in 0..32 {
                    out[160 + 32 * i + p] = q(2 * i, p) & 0x0f | (q(2 * i + 1, p) & 0x0f) << 4;
                }
            }
            if ty == WeightType::Q5_K {
                for i in 0..8 {
                    for p in 0..32 {
                        out[1184 + 32 * i + p] = (0..8).fold(0u8, |acc, t| acc | ((q(8 * i + t, p) >> 4) & 1) << t);
                    }
                }
            }
        }
        _ => {
            for (r, blk) in b.iter().enumerate() {
                put_u16(out, 2 * r, blk.d);
                for s in 0..16 {
                    out[16 + 8 * s + r] = blk.sc[s] as i8 as u8;
                }
            }
            for i in 0..32 {
                for p in 0..32 {
                    out[144 + 32 * i + p] = q(2 * i, p) & 0x0f | (q(2 * i + 1, p) & 0x0f) << 4;
                }
            }
            for i in 0..16 {
                for p in 0..32 {
                    out[1168 + 32 * i + p] = (0..4).fold(0u8, |acc, t| acc | ((q(4 * i + t, p) >> 4) & 3) << (2 * t));
                }
            }
        }
    }
}

/// Row `r` (of eight) of one packed block, back in the plain form.
pub(crate) fn unpack_row32(ty: WeightType, packed: &[u8], r: usize) -> Block32 {
    let mut panel = [0u8; PANEL32];
    panel32(ty, packed, &mut panel);
    let mut q = [0u8; 32];
    for (k, v) in q.iter_mut().enumerate() {
        *v = panel[16 + 32 * (k / 4) + 4 * r + k % 4];
    }
    Block32 { d: u16::from_le_bytes([panel[2 * r], panel[2 * r + 1]]), q }
}

/// Row `r` (of eight) of one packed K-quant super-block, back in the plain form.
pub(crate) fn unpack_row256(ty: WeightType, packed: &[u8], r: usize) -> Block256 {
    let d = u16::from_le_bytes([packed[2 * r], packed[2 * r + 1]]);
    let mut out = Block256 { d, dmin: d, sc: [0; 16], m: [0; 16], q: [0; 256] };
    let mut panel = [0u8; PANEL256];
    panel256(ty, packed, &mut panel);
    for k in 0..256 {
        out.q[k] = panel[32 * (k / 4) + 4 * r + k % 4];
    }
    if ty == WeightType::Q6_K {
        for s in 0..16 {
            out.sc[s] = i16::from(packed[16 + 8 * s + r] as i8);
            out.m[s] = 32 * out.sc[s];
        }
    } else {
        out.dmin = u16::from_le_bytes([packed[16 + 2 * r], packed[17 + 2 * r]]);
        for s in 0..16 {
            out.sc[s] = i16::from(packed[32 + 8 * (s / 2) + r]);
            out.m[s] = i16::from(packed[96 + 8 * (s / 2) + r]);
        }
    }
    out
}

/// Portable unpacking of one packed 32-element block into its panel block.
pub(crate) fn panel32(ty: WeightType, packed: &[u8], out: &mut [u8]) {
    if ty == WeightType::Q8_0 {
        out[..PANEL32].copy_from_slice(&packed[..PANEL32]);
        return;
    }
    out[..16].copy_from_slice(&packed[..16]);
    let (nib, bits) = if ty == WeightType::Q5_0 { (48, Some(&packed[16..48])) } else { (16, None) };
    for g in 0..8 {
        for p in 0..32 {
            let byte = packed[nib + 32 * (g / 2) + p];
            let lo = if g % 2 == 0 { byte & 0x0f } else { byte >> 4 };
            let hi = bits.map_or(0, |h| ((h[p] >> g) & 1) << 4);
            out[16 + 32 * g + p] = lo | hi;
        }
    }
}

/// Portable unpacking of one packed K-quant super-block into its panel block.
pub(crate) fn panel256(ty: WeightType, packed: &[u8], out: &mut [u8]) {
    let put_i16 = |out: &mut [u8], at: usize, v: i16| out[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let put_f32 = |out: &mut [u8], at: usize, v: f32| out[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let d = |r: usize| f16::to_f32(u16::from_le_bytes([packed[2 * r], packed[2 * r + 1]]));
    match ty {
        WeightType::Q6_K => {
            for g in 0..64 {
                for p in 0..32 {
                    let byte = packed[144 + 32 * (g / 2) + p];
                    let lo = if g % 2 == 0 { byte & 0x0f } else { byte >> 4 };
                    let hi = (packed[1168 + 32 * (g / 4) + p] >> (2 * (g % 4))) & 3;
                    out[32 * g + p] = lo | hi << 4;
                }
            }
            for r in 0..ROWS {
                let sc = |s: usize| i16::from(packed[16 + 8 * s + r] as i8);
                for s in 0..16 {
                    put_i16(out, PANEL256_SC + 32 * s + 4 * r, sc(s));
                    put_i16(out, PANEL256_SC + 32 * s + 4 * r + 2, sc(s));
                }
                for k in 0..8 {
                    put_i16(out, PANEL256_M + 32 * k + 4 * r, 32 * sc(2 * k));
                    put_i16(out, PANEL256_M + 32 * k + 4 * r + 2, 32 * sc(2 * k + 1));
                }
                put_f32(out, PANEL256_D + 4 * r, d(r));
                put_f32(out, PANEL256_DMIN + 4 * r, d(r));
            }
        }
        _ => {
            for g in 0..64 {
                for p in 0..32 {
                    let byte = packed[160 + 32 * (g / 2) + p];
                    let lo = if g % 2 == 0 { byte & 0x0f } else { byte >> 4 };
                    let hi = if ty == WeightType::Q5_K {
                        ((packed[1184 + 32 * (g / 8) + p] >> (g % 8)) & 1) << 4
                    } else {
                        0
                    };
                    out[32 * g + p] = lo | hi;
                }
            }
            for r in 0..ROWS {
                for s in 0..16 {
                    let sc = i16::from(packed[32 + 8 * (s / 2) + r]);
                    put_i16(out, PANEL256_SC + 32 * s + 4 * r, sc);
                    put_i16(out, PANEL256_SC + 32 * s + 4 * r + 2, sc);
                }
                for k in 0..8 {
                    let m = i16::from(packed[96 + 8 * k + r]);
                    put_i16(out, PANEL256_M + 32 * k + 4 * r, m);
                    put_i16(out, PANEL256_M + 32 * k + 4 * r + 2, m);
                }
                put_f32(out, PANEL256_D + 4 * r, d(r));
                let dmin = f16::to_f32(u16::from_le_bytes([packed[16 + 2 * r], packed[17 + 2 * r]]));
                put_f32(out, PANEL256_DMIN + 4 * r, dmin);
            }
        }
    }
}
