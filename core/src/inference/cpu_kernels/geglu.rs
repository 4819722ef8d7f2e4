//! GEGLU (`gelu(gate) * up`, GELU in its tanh form) as ggml's CPU backend computes it for Gemma: the gate rounded
//! to f16 and looked up in a table of f16 results, zero below -10 and the identity above 10. Gemma's small models
//! are sensitive enough that the exact function changes greedy continuations, so the reference's rounding is
//! reproduced; the table also spares a `tanh` per element (a tenth of a prompt's time on gemma 3 270M).

use std::sync::OnceLock;

use super::f16;

const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const GELU_COEF_A: f32 = 0.044_715;

/// GELU in f32, with ggml's operation order.
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * (1.0 + GELU_COEF_A * x * x)).tanh())
}

/// `gelu` of every f16 value, rounded to f16 and widened back, indexed by the f16's bits.
fn table() -> &'static [f32] {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    TABLE.get_or_init(|| (0..=u16::MAX).map(|h| f16::to_f32(f16::from_f32(gelu(f16::to_f32(h))))).collect())
}

/// `out[i] = gelu(gate[i]) * up[i]`. `gate` and `up` have the same length.
pub fn geglu(gate: &[f32], up: &[f32]) -> Vec<f32> {
    #[cfg(target_arch = "x86_64")]
    if super::Isa::detect() == super::Isa::Avx2 {
        // SAFETY: the CPU has AVX2 and F16C (`Isa::detect`).
        return unsafe { geglu_f16c(gate, up) };
    }
    gate.iter().zip(up).map(|(&x, &g)| one(table(), x, f16::from_f32(x), g)).collect()
}

/// One element, given the gate rounded to f16 (`h`).
#[inline(always)]
fn one(table: &[f32], x: f32, h: u16, up: f32) -> f32 {
    if x <= -10.0 {
        0.0
    } else if x >= 10.0 {
        x * up
    } else {
        table[usize::from(h)] * up
    }
}

/// [`geglu`] with the gates rounded to f16 eight at a time by the CPU (the software rounding took most of the
/// time); the same values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
fn geglu_f16c(gate: &[f32], up: &[f32]) -> Vec<f32> {
    use std::arch::x86_64::*;
    let table = table();
    let mut out = Vec::with_capacity(gate.len());
    let (gc, uc) = (gate.chunks_exact(8), up.chunks_exact(8));
    let tail = gc.remainder().iter().zip(uc.remainder()).map(|(&x, &g)| one(table, x, f16::from_f32(x), g));
    for (x, g) in gc.zip(uc) {
        let mut h = [0u16; 8];
        // SAFETY: `x` holds eight f32 and `h` eight u16; both accesses are unaligned.
        unsafe {
            let v = _mm256_loadu_ps(x.as_ptr());
            _mm_storeu_si128(h.as_mut_ptr().cast(), _mm256_cvtps_ph::<{ _MM_FROUND_TO_NEAREST_INT }>(v));
        }
        out.extend((0..8).map(|i| one(table, x[i], h[i], g[i])));
    }
    out.extend(tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_ggml_rules() {
        let gate = [-12.0, -10.0, -1.0, 0.0, 0.5, 3.0, 10.0, 12.5];
        let up = [2.0; 8];
        let out = geglu(&gate, &up);
        assert_eq!(&out[..2], &[0.0, 0.0]);
        assert_eq!(&out[6..], &[20.0, 25.0]);
        assert_eq!(out[3], 0.0);
        for (i, &x) in gate.iter().enumerate().take(6).skip(2) {
            let exact = f64::from(x) * 0.5 * (1.0 + tanh_term(f64::from(x)));
            // Within f16's rounding of the input and output.
            assert!((f64::from(out[i]) / 2.0 - exact).abs() <= 2e-3 * exact.abs().max(1.0), "gelu({x})");
        }
    }

    #[test]
    fn the_cpu_rounding_gives_the_portable_values() {
        // A dense grid over the table's range, tiny values (f16 subnormals and underflow), values beyond f16's
        // range, and a length that leaves a tail after the groups of eight.
        let mut gate: Vec<f32> = (0..100_003).map(|i| -11.0 + i as f32 * 2.2e-4).collect();
        gate.extend((0..120).flat_map(|i| [1e-9 * 1.2f32.powi(i), -1e-9 * 1.2f32.powi(i)]));
        gate.extend([65_504.0, 65_520.0, -70_000.0, 9.999_999, -9.999_999]);
        let up: Vec<f32> = (0..gate.len()).map(|i| 0.25 + (i % 5) as f32 * 0.5).collect();
        let portable: Vec<f32> = gate.iter().zip(&up).map(|(&x, &g)| one(table(), x, f16::from_f32(x), g)).collect();
        let ours = geglu(&gate, &up);
        let differ = ours.iter().zip(&portable).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
        assert_eq!(differ, 0, "{differ} of {} values differ", gate.len());
    }

    /// GELU's tanh term in f64.
    fn tanh_term(x: f64) -> f64 {
        ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044_715 * x * x * x)).tanh()
    }

    #[test]
    fn the_table_rounds_inputs_and_outputs_to_f16() {
        // A value between two f16s takes the nearer one's result.
        let x = 1.0 + 2f32.powi(-12); // f16 has 10 mantissa bits: this rounds to 1.0
        assert_eq!(geglu(&[x], &[1.0]), geglu(&[1.0], &[1.0]));
        let y = geglu(&[1.0], &[1.0])[0];
        assert_eq!(f16::to_f32(f16::from_f32(y)), y, "the result is an f16 value");
    }
}
