//! ggml's block formats, decoded into one plain form per family (the source the packed layouts are built from,
//! and the reference the tests compare against).
//!
//! - 32-element families (Q4_0, Q5_0, Q8_0): an f16 scale and 32 integers `q`, weight `d * (q - offset)`.
//! - 256-element K-quants (Q4_K, Q5_K, Q6_K): f16 `d` and `dmin`, sixteen 16-element sub-blocks with an integer
//!   scale `sc` and an integer min `m`, and 256 unsigned integers `q`: weight `d * sc * q - dmin * m`. Q6_K
//!   (`d * sc * (q - 32)`) fits with `m = 32 * sc` and `dmin = d`; Q4_K and Q5_K's 32-element sub-blocks give
//!   two equal 16-element ones.

use super::f16;

/// One 32-element block: the f16 scale's bits and the unsigned (offset) or signed (Q8_0) integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Block32 {
    pub d: u16,
    /// `q + offset` for Q4_0/Q5_0 (0..=15, 0..=31); the signed value as `u8` bits for Q8_0.
    pub q: [u8; 32],
}

/// One 256-element K-quant super-block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Block256 {
    pub d: u16,
    pub dmin: u16,
    pub sc: [i16; 16],
    pub m: [i16; 16],
    pub q: [u8; 256],
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub(crate) fn q4_0(b: &[u8]) -> Block32 {
    let mut q = [0u8; 32];
    for j in 0..16 {
        q[j] = b[2 + j] & 0x0f;
        q[j + 16] = b[2 + j] >> 4;
    }
    Block32 { d: le_u16(b, 0), q }
}

pub(crate) fn q5_0(b: &[u8]) -> Block32 {
    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
    let mut q = [0u8; 32];
    for j in 0..16 {
        q[j] = b[6 + j] & 0x0f | (((qh >> j) & 1) as u8) << 4;
        q[j + 16] = b[6 + j] >> 4 | (((qh >> (j + 16)) & 1) as u8) << 4;
    }
    Block32 { d: le_u16(b, 0), q }
}

pub(crate) fn q8_0(b: &[u8]) -> Block32 {
    let mut q = [0u8; 32];
    q.copy_from_slice(&b[2..34]);
    Block32 { d: le_u16(b, 0), q }
}

/// ggml's packing of eight 6-bit scales and mins into 12 bytes.
fn scale_min_k4(j: usize, s: &[u8]) -> (u8, u8) {
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        (s[j + 4] & 0x0f | (s[j - 4] >> 6) << 4, s[j + 4] >> 4 | (s[j] >> 6) << 4)
    }
}

pub(crate) fn q4_k(b: &[u8]) -> Block256 {
    k4_nibbles(b, &b[16..144], None)
}

pub(crate) fn q5_k(b: &[u8]) -> Block256 {
    k4_nibbles(b, &b[48..176], Some(&b[16..48]))
}

/// Q4_K and Q5_K share their layout: `d`, `dmin`, eight 6-bit scale/min pairs in bytes 4..16, then 4-bit quants
/// `qs` (Q5_K adds a fifth bit per value from `qh`).
fn k4_nibbles(b: &[u8], qs: &[u8], qh: Option<&[u8]>) -> Block256 {
    let scales = &b[4..16];
    let mut out = Block256 { d: le_u16(b, 0), dmin: le_u16(b, 2), sc: [0; 16], m: [0; 16], q: [0; 256] };
    for j in 0..8 {
        let (sc, m) = scale_min_k4(j, scales);
        out.sc[2 * j] = i16::from(sc);
        out.sc[2 * j + 1] = i16::from(sc);
        out.m[2 * j] = i16::from(m);
        out.m[2 * j + 1] = i16::from(m);
        // Sub-block j: the low nibbles (even j) or high nibbles (odd j) of bytes 32 * (j / 2)...
        let base = 32 * (j / 2);
        for l in 0..32 {
            let byte = qs[base + l];
            let low = if j % 2 == 0 { byte & 0x0f } else { byte >> 4 };
            out.q[32 * j + l] = match qh {
                Some(qh) => low | ((qh[l] >> j) & 1) << 4,
                None => low,
            };
        }
    }
    out
}

pub(crate) fn q6_k(b: &[u8]) -> Block256 {
    let (ql, qh, scales) = (&b[0..128], &b[128..192], &b[192..208]);
    let d = le_u16(b, 208);
    let mut out = Block256 { d, dmin: d, sc: [0; 16], m: [0; 16], q: [0; 256] };
    for (s, &byte) in scales.iter().enumerate() {
        let sc = i16::from(byte as i8);
        out.sc[s] = sc;
        out.m[s] = 32 * sc;
    }
    for half in 0..2 {
        let (ql, qh) = (&ql[64 * half..], &qh[32 * half..]);
        let y = &mut out.q[128 * half..];
        for l in 0..32 {
            y[l] = ql[l] & 0x0f | (qh[l] & 3) << 4;
            y[l + 32] = ql[l + 32] & 0x0f | ((qh[l] >> 2) & 3) << 4;
            y[l + 64] = ql[l] >> 4 | ((qh[l] >> 4) & 3) << 4;
            y[l + 96] = ql[l + 32] >> 4 | ((qh[l] >> 6) & 3) << 4;
        }
    }
    out
}

/// The weights of a 32-element block, as ggml dequantizes them.
pub(crate) fn dequant32(b: &Block32, offset: i32, signed: bool, out: &mut [f32]) {
    let d = f16::to_f32(b.d);
    for (o, &q) in out.iter_mut().zip(&b.q) {
        let v = if signed { i32::from(q as i8) } else { i32::from(q) - offset };
        *o = d * v as f32;
    }
}

/// The weights of a K-quant super-block, as ggml dequantizes them (`d * sc` and `dmin * m` first).
pub(crate) fn dequant256(b: &Block256, q6: bool, out: &mut [f32]) {
    let d = f16::to_f32(b.d);
    let dmin = f16::to_f32(b.dmin);
    for s in 0..16 {
        let d1 = d * f32::from(b.sc[s]);
        let m1 = dmin * f32::from(b.m[s]);
        for l in 0..16 {
            let q = b.q[16 * s + l];
            out[16 * s + l] = if q6 { d1 * (i32::from(q) - 32) as f32 } else { d1 * f32::from(q) - m1 };
        }
    }
}
