//! Portable kernels over panels (see `layout`): the reference the SIMD kernels must match bit for bit, and the
//! path on CPUs without them. Per row and column the sum runs block after block, in integers within a block and
//! as `acc = fma(isum, d_w * d_a, acc)` between blocks, exactly as the SIMD kernels do.

use super::act::Acts;
use super::f16;
use super::layout::{PANEL32, PANEL256, PANEL256_D, PANEL256_DMIN, PANEL256_M, PANEL256_SC, ROWS};

fn i16_at(b: &[u8], at: usize) -> i32 {
    i32::from(i16::from_le_bytes([b[at], b[at + 1]]))
}

fn f32_at(b: &[u8], at: usize) -> f32 {
    f32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// 32-element family: `nb` panel blocks against activation blocks `blk0..blk0 + nb` of rows `cols`.
/// `offset_shift`: the weights are `q - (1 << shift)`; `None`: signed (Q8_0).
pub(crate) fn tile32(
    panel: &[u8],
    nb: usize,
    acts: &Acts,
    cols: std::ops::Range<usize>,
    blk0: usize,
    offset_shift: Option<u32>,
    acc: &mut [[f32; ROWS]],
) {
    let k = acts.k;
    let nbk = k / 32;
    for b in 0..nb {
        let blk = &panel[b * PANEL32..(b + 1) * PANEL32];
        let dw: [f32; ROWS] = std::array::from_fn(|r| f16::to_f32(u16::from_le_bytes([blk[2 * r], blk[2 * r + 1]])));
        for (acc, j) in acc.iter_mut().zip(cols.clone()) {
            let a = &acts.q[j * k + (blk0 + b) * 32..][..32];
            let da = acts.d[j * nbk + blk0 + b];
            let correction = offset_shift.map_or(0, |s| acts.sum[j * nbk + blk0 + b] << s);
            for (r, acc) in acc.iter_mut().enumerate() {
                let mut isum = 0i32;
                for (e, &av) in a.iter().enumerate() {
                    let w = blk[16 + 32 * (e / 4) + 4 * r + e % 4];
                    let w = if offset_shift.is_some() { i32::from(w) } else { i32::from(w as i8) };
                    isum += w * i32::from(av);
                }
                isum -= correction;
                *acc = (isum as f32).mul_add(dw[r] * da, *acc);
            }
        }
    }
}

/// K-quant family: `nb` panel super-blocks against activation super-blocks `blk0..blk0 + nb` of rows `cols`.
pub(crate) fn tile256(
    panel: &[u8],
    nb: usize,
    acts: &Acts,
    cols: std::ops::Range<usize>,
    blk0: usize,
    mins_share_scale: bool,
    acc: &mut [[f32; ROWS]],
) {
    let k = acts.k;
    let nbk = k / 256;
    for b in 0..nb {
        let blk = &panel[b * PANEL256..(b + 1) * PANEL256];
        for (acc, j) in acc.iter_mut().zip(cols.clone()) {
            let a = &acts.q[j * k + (blk0 + b) * 256..][..256];
            let bs = &acts.bsums[(j * nbk + blk0 + b) * 16..][..16];
            let da = acts.d[j * nbk + blk0 + b];
            for (r, acc) in acc.iter_mut().enumerate() {
                let mut ai = 0i32;
                for s in 0..16 {
                    let mut sub = 0i32;
                    for e in 0..16 {
                        let kk = 16 * s + e;
                        sub += i32::from(blk[32 * (kk / 4) + 4 * r + kk % 4]) * i32::from(a[kk]);
                    }
                    ai += sub * i16_at(blk, PANEL256_SC + 32 * s + 4 * r);
                }
                let mut mi = 0i32;
                for kk in 0..8 {
                    mi += i16_at(blk, PANEL256_M + 32 * kk + 4 * r) * i32::from(bs[2 * kk]);
                    mi += i16_at(blk, PANEL256_M + 32 * kk + 4 * r + 2) * i32::from(bs[2 * kk + 1]);
                }
                let d = f32_at(blk, PANEL256_D + 4 * r);
                if mins_share_scale {
                    *acc = ((ai - mi) as f32).mul_add(d * da, *acc);
                } else {
                    let dmin = f32_at(blk, PANEL256_DMIN + 4 * r);
                    *acc = (ai as f32).mul_add(d * da, *acc);
                    *acc = (-(mi as f32)).mul_add(dmin * da, *acc);
                }
            }
        }
    }
}
