//! Activation quantization, exactly as ggml's x86 CPU backend does it, so that the integer dot products see the
//! same numbers as llama.cpp's:
//!
//! - per 32 elements (for Q4_0/Q5_0/Q8_0 weights; ggml's AVX2 `quantize_row_q8_0`): `d = amax / 127` stored as
//!   f16, integers `round_ties_even(x * (127 / amax))`. We also keep each block's integer sum (for the unsigned
//!   weight offsets) and `d` widened back to f32.
//! - per 256 elements (K-quant weights; ggml's `quantize_row_q8_K_ref`): `iscale = -127 / x[argmax |x|]`,
//!   integers `min(127, round_ties_even(iscale * x))`, `d = 1 / iscale` (f32), sums per 16 elements.

use super::f16;

/// Activations of `m` rows of `k` elements, quantized for one weight family. Buffers are reused between calls.
#[derive(Debug, Default)]
pub(crate) struct Acts {
    pub k: usize,
    pub m: usize,
    /// `m * k` integers, row after row.
    pub q: Vec<i8>,
    /// One scale per block (32 or 256 elements).
    pub d: Vec<f32>,
    /// Per 32-element block: the integer sum.
    pub sum: Vec<i32>,
    /// Per 256-element block: sixteen 16-element sums.
    pub bsums: Vec<i16>,
}

impl Acts {
    pub(crate) fn resize(&mut self, m: usize, k: usize, k_quant: bool) {
        self.m = m;
        self.k = k;
        self.q.resize(m * k, 0);
        if k_quant {
            self.d.resize(m * k / 256, 0.0);
            self.bsums.resize(m * k / 16, 0);
        } else {
            self.d.resize(m * k / 32, 0.0);
            self.sum.resize(m * k / 32, 0);
        }
    }
}

/// Quantizes one 32-element block (portable). Returns `(d as f32, sum)`.
pub(crate) fn block32(x: &[f32], q: &mut [i8]) -> (f32, i32) {
    let amax = x.iter().fold(0f32, |a, v| a.max(v.abs()));
    let d = amax / 127.0;
    let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
    let mut sum = 0;
    for (o, v) in q.iter_mut().zip(x) {
        let r = (v * id).round_ties_even() as i32;
        *o = r.clamp(-128, 127) as i8;
        sum += i32::from(*o);
    }
    (f16::to_f32(f16::from_f32(d)), sum)
}

/// Quantizes one 256-element block (portable). Returns `d`.
pub(crate) fn block256(x: &[f32], q: &mut [i8], bsums: &mut [i16]) -> f32 {
    let mut amax = 0f32;
    let mut max = 0f32;
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    if amax == 0.0 {
        q.fill(0);
        bsums.fill(0);
        return 0.0;
    }
    let iscale = -127.0 / max;
    for (o, v) in q.iter_mut().zip(x) {
        *o = ((iscale * v).round_ties_even() as i32).min(127) as i8;
    }
    for (s, chunk) in bsums.iter_mut().zip(q.chunks_exact(16)) {
        *s = chunk.iter().map(|&v| i16::from(v)).sum();
    }
    1.0 / iscale
}

/// Quantizes rows `rows` of `x` (`m * k`, row-major) into `acts` (portable).
pub(crate) fn quantize_rows_scalar(x: &[f32], acts: &mut Acts, k_quant: bool, rows: std::ops::Range<usize>) {
    let k = acts.k;
    for i in rows {
        let xr = &x[i * k..(i + 1) * k];
        let qr = &mut acts.q[i * k..(i + 1) * k];
        if k_quant {
            let nb = k / 256;
            for b in 0..nb {
                let d = block256(
                    &xr[256 * b..256 * (b + 1)],
                    &mut qr[256 * b..256 * (b + 1)],
                    &mut acts.bsums[(i * nb + b) * 16..(i * nb + b + 1) * 16],
                );
                acts.d[i * nb + b] = d;
            }
        } else {
            let nb = k / 32;
            for b in 0..nb {
                let (d, s) = block32(&xr[32 * b..32 * (b + 1)], &mut qr[32 * b..32 * (b + 1)]);
                acts.d[i * nb + b] = d;
                acts.sum[i * nb + b] = s;
            }
        }
    }
}
