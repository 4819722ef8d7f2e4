//! Re-encodes weights whose CPU kernels are slow in candle into an equivalent format with fast ones.
//!
//! candle 0.11 has no SIMD dot product for Q5_0 (profiling the qwen test model: 92% of decode time in its scalar
//! fallback). A Q5_0 block is a scale and 32 five-bit integers in -16..=15; a Q8_0 block is the same scale and 32
//! eight-bit integers, so every Q5_0 block becomes a Q8_0 block with the very same values, and candle's AVX2
//! Q8_0 kernel applies. The cost is memory: 34 bytes per 32 weights instead of 22. GPUs keep Q5_0 (candle's CUDA
//! kernels handle it), and so do CPUs where the core's own kernels run (see `weights`), which take Q5_0 as it is.

use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{Device, Shape};

use super::engine_err;
use crate::error::{Error, Result};

const BLOCK: usize = 32;
const Q5_0_BYTES: usize = 22;
const Q8_0_BYTES: usize = 34;

/// Returns `t` re-encoded where that makes it faster on `device`, else `t` itself.
pub(crate) fn for_device(t: QTensor, device: &Device) -> Result<QTensor> {
    if !device.is_cpu() || super::weights::own_kernels(device) || t.dtype() != GgmlDType::Q5_0 {
        return Ok(t);
    }
    to_q8_0(t, device)
}

fn to_q8_0(t: QTensor, device: &Device) -> Result<QTensor> {
    let shape: Shape = t.shape().clone();
    let data = t.data().map_err(engine_err)?;
    let q8 = q5_0_to_q8_0(&data)?;
    drop(data);
    let storage = QStorage::from_data(std::borrow::Cow::Owned(q8), device, GgmlDType::Q8_0).map_err(engine_err)?;
    QTensor::new(storage, shape).map_err(engine_err)
}

/// Q5_0 blocks (`f16 d`, `u32 qh` high bits, 16 bytes of low nibbles) to Q8_0 blocks (`f16 d`, 32 `i8`) holding
/// the same values: element `j` of a block is `(low nibble | high bit << 4) - 16`, the first 16 from the low
/// nibbles, the last 16 from the high ones.
fn q5_0_to_q8_0(data: &[u8]) -> Result<Vec<u8>> {
    if !data.len().is_multiple_of(Q5_0_BYTES) {
        return Err(Error::InvalidGguf(format!("Q5_0 data of {} bytes is not whole blocks", data.len())));
    }
    let mut out = Vec::with_capacity(data.len() / Q5_0_BYTES * Q8_0_BYTES);
    for block in data.chunks_exact(Q5_0_BYTES) {
        let (d, rest) = block.split_at(2);
        let (qh, qs) = rest.split_at(4);
        let qh = u32::from_le_bytes([qh[0], qh[1], qh[2], qh[3]]);
        out.extend_from_slice(d);
        let mut values = [0i8; BLOCK];
        for j in 0..BLOCK / 2 {
            let lo = qs[j] & 0x0F | (((qh >> j) & 1) as u8) << 4;
            let hi = qs[j] >> 4 | (((qh >> (j + 16)) & 1) as u8) << 4;
            values[j] = lo as i8 - 16;
            values[j + BLOCK / 2] = hi as i8 - 16;
        }
        out.extend(values.iter().map(|v| *v as u8));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use candle_core::Tensor;

    use super::*;

    #[test]
    fn q5_0_becomes_q8_0_with_identical_values() {
        let device = Device::Cpu;
        let values: Vec<f32> = (0..4096).map(|i| ((i * 7919 % 1000) as f32 / 250.0 - 2.0).sin() * 3.0).collect();
        let source = Tensor::from_vec(values, (16, 256), &device).unwrap();
        let q5 = QTensor::quantize(&source, GgmlDType::Q5_0).unwrap();
        let expected = q5.dequantize(&device).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let q8 = to_q8_0(q5, &device).unwrap();
        assert_eq!(q8.dtype(), GgmlDType::Q8_0);
        assert_eq!(q8.shape().dims(), &[16, 256]);
        let got = q8.dequantize(&device).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(got, expected, "the same numbers, exactly");
    }

    #[test]
    fn partial_blocks_are_refused() {
        assert!(q5_0_to_q8_0(&[0u8; 23]).is_err());
    }
}
