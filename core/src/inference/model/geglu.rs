//! Gemma's gated GELU, rounded as llama.cpp's CPU backend rounds it.

use candle_core::{DType, Tensor};

use super::engine_err;
use crate::error::Result;

/// `gelu(gate) * up` as llama.cpp computes it on CPU (see `cpu_kernels::geglu`); elsewhere the same rounding
/// with candle's operations.
pub(super) fn geglu(gate: &Tensor, up: &Tensor) -> Result<Tensor> {
    if gate.device().is_cpu() && gate.dtype() == DType::F32 && up.dtype() == DType::F32 {
        let dims = gate.dims().to_vec();
        let values = |t: &Tensor| t.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(engine_err);
        let out = crate::inference::cpu_kernels::geglu(&values(gate)?, &values(up)?);
        return Tensor::from_vec(out, dims, gate.device()).map_err(engine_err);
    }
    (gelu_f16_table(gate)? * up).map_err(engine_err)
}

/// GELU (tanh form) as llama.cpp computes it on CPU: the input rounded to f16, looked up in a table of f16
/// results, identity above 10 and zero below -10.
fn gelu_f16_table(x: &Tensor) -> Result<Tensor> {
    let f16 = |t: &Tensor| t.to_dtype(DType::F16).and_then(|t| t.to_dtype(DType::F32));
    let inner = (|| {
        let y = f16(&f16(x)?.gelu()?)?;
        let y = x.ge(10f32)?.where_cond(x, &y)?;
        x.le(-10f32)?.where_cond(&y.zeros_like()?, &y)
    })();
    inner.map_err(engine_err)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    /// The table-based GEGLU on the CPU gives exactly what the same rounding does with candle's operations:
    /// a dense grid over the table's range, values near zero, and the cut-offs at plus and minus 10.
    #[test]
    fn geglu_equals_the_candle_formulation() {
        let mut gate: Vec<f32> = (0..240_000).map(|i| -12.0 + i as f32 * 1e-4).collect();
        gate.extend((0..200).flat_map(|i| {
            let x = 1e-7 * 1.1f32.powi(i);
            [x, -x]
        }));
        gate.extend([-10.0, 10.0, -10.000_001, 9.999_999]);
        let up: Vec<f32> = (0..gate.len()).map(|i| 0.5 + (i % 7) as f32 * 0.25).collect();
        let n = gate.len();
        let g = Tensor::from_vec(gate, n, &Device::Cpu).unwrap();
        let u = Tensor::from_vec(up, n, &Device::Cpu).unwrap();
        let ours = geglu(&g, &u).unwrap().to_vec1::<f32>().unwrap();
        let candle = (gelu_f16_table(&g).unwrap() * &u).unwrap().to_vec1::<f32>().unwrap();
        let differ = ours.iter().zip(&candle).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
        assert_eq!(differ, 0, "{differ} of {n} values differ");
    }
}
