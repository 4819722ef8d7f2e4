//! Unit tests: packing round trips, SIMD against portable (bit for bit), kernels against f64 arithmetic on the
//! same quantized numbers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::act::{self, Acts};
use super::layout::{self, PANEL32, PANEL256, ROWS, WeightType};
use super::*;

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn byte(&mut self) -> u8 {
        (self.next() >> 24) as u8
    }
    fn f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

/// A random but valid ggml block of `ty`: any integer bits, a modest positive (or for mins, any) scale.
fn random_block(ty: WeightType, rng: &mut Rng) -> Vec<u8> {
    let mut b: Vec<u8> = (0..ty.ggml_block_bytes()).map(|_| rng.byte()).collect();
    let scale = |rng: &mut Rng| f16::from_f32(0.001 + (rng.f32().abs() * 0.05)).to_le_bytes();
    match ty {
        WeightType::Q4_0 | WeightType::Q5_0 | WeightType::Q8_0 => b[0..2].copy_from_slice(&scale(rng)),
        WeightType::Q4_K | WeightType::Q5_K => {
            b[0..2].copy_from_slice(&scale(rng));
            b[2..4].copy_from_slice(&scale(rng));
        }
        WeightType::Q6_K => b[208..210].copy_from_slice(&scale(rng)),
    }
    b
}

fn random_matrix(ty: WeightType, rows: usize, cols: usize, rng: &mut Rng) -> Vec<u8> {
    (0..rows * cols / ty.block_elems()).flat_map(|_| random_block(ty, rng)).collect()
}

/// Activations with some structure: mostly small, a few outliers, some all-zero blocks and exact ties.
fn random_acts(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n)
        .map(|i| {
            if (i / 256) % 7 == 5 {
                0.0
            } else if i % 97 == 3 {
                rng.f32() * 40.0
            } else if i % 61 == 7 {
                0.5
            } else {
                rng.f32()
            }
        })
        .collect()
}

fn dequantize_ggml(ty: WeightType, data: &[u8], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; rows * cols];
    let be = ty.block_elems();
    for (i, blk) in data.chunks_exact(ty.ggml_block_bytes()).enumerate() {
        let dst = &mut out[i * be..(i + 1) * be];
        match ty {
            WeightType::Q4_0 => blocks::dequant32(&blocks::q4_0(blk), 8, false, dst),
            WeightType::Q5_0 => blocks::dequant32(&blocks::q5_0(blk), 16, false, dst),
            WeightType::Q8_0 => blocks::dequant32(&blocks::q8_0(blk), 0, true, dst),
            WeightType::Q4_K => blocks::dequant256(&blocks::q4_k(blk), false, dst),
            WeightType::Q5_K => blocks::dequant256(&blocks::q5_k(blk), false, dst),
            WeightType::Q6_K => blocks::dequant256(&blocks::q6_k(blk), true, dst),
        }
    }
    out
}

#[test]
fn packed_rows_dequantize_like_ggml() {
    let mut rng = Rng(0x1234_5678);
    for ty in WeightType::ALL {
        let (rows, cols) = (13, 2 * ty.block_elems());
        let data = random_matrix(ty, rows, cols, &mut rng);
        let expected = dequantize_ggml(ty, &data, rows, cols);
        let m = QuantMatrix::from_ggml(ty, rows, cols, &data).unwrap();
        let mut row = vec![0f32; cols];
        for r in 0..rows {
            m.dequantize_row(r, &mut row).unwrap();
            assert_eq!(row, expected[r * cols..(r + 1) * cols], "{ty:?} row {r}");
        }
    }
}

#[test]
fn reading_in_slabs_packs_like_one_slice() {
    // More rows than one slab (512), and a last group of fewer than eight rows.
    let mut rng = Rng(77);
    let ty = WeightType::Q4_K;
    let (rows, cols) = (1029, 256);
    let data = random_matrix(ty, rows, cols, &mut rng);
    let expected = dequantize_ggml(ty, &data, rows, cols);
    let m = QuantMatrix::read(ty, rows, cols, &mut &data[..]).unwrap();
    let mut row = vec![0f32; cols];
    for r in [0, 7, 511, 512, 1023, 1028] {
        m.dequantize_row(r, &mut row).unwrap();
        assert_eq!(row, expected[r * cols..(r + 1) * cols], "row {r}");
    }
    assert!(QuantMatrix::read(ty, rows, cols, &mut &data[..data.len() - 1]).is_err(), "a short file is an error");
}

#[test]
fn bad_shapes_are_refused() {
    assert!(QuantMatrix::from_ggml(WeightType::Q8_0, 2, 48, &[0; 2 * 34]).is_err());
    assert!(QuantMatrix::from_ggml(WeightType::Q8_0, 2, 32, &[0; 67]).is_err());
    let m = QuantMatrix::from_ggml(WeightType::Q8_0, 2, 32, &[0; 68]).unwrap();
    assert!(m.matmul(&[0.0; 32], 1, &mut [0.0; 3]).is_err());
    assert!(m.dequantize_row(2, &mut [0.0; 32]).is_err());
}

#[cfg(target_arch = "x86_64")]
#[test]
fn simd_unpacking_matches_portable() {
    if !Isa::Avx2.available() {
        return;
    }
    let mut rng = Rng(99);
    for ty in WeightType::ALL {
        let data = random_matrix(ty, 8, 3 * ty.block_elems(), &mut rng);
        let m = QuantMatrix::from_ggml(ty, 8, 3 * ty.block_elems(), &data).unwrap();
        let packed = m.group(0);
        let pb = ty.panel_bytes();
        let mut simd = vec![0u8; 3 * pb];
        // SAFETY: AVX2 checked above.
        unsafe { avx2::unpack(ty, packed, 3, &mut simd) };
        let mut portable = vec![0u8; 3 * pb];
        for b in 0..3 {
            let (src, dst) = (&packed[b * ty.packed_bytes()..], &mut portable[b * pb..]);
            if ty.is_k() { layout::panel256(ty, src, dst) } else { layout::panel32(ty, src, dst) }
        }
        assert_eq!(simd, portable, "{ty:?}");
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn simd_activation_quantization_matches_portable() {
    if !Isa::Avx2.available() {
        return;
    }
    let mut rng = Rng(7);
    let (m, k) = (5, 1024);
    let x = random_acts(m * k, &mut rng);
    for kq in [false, true] {
        let mut a = Acts::default();
        a.resize(m, k, kq);
        act::quantize_rows_scalar(&x, &mut a, kq, 0..m);
        let mut b = Acts::default();
        b.resize(m, k, kq);
        // SAFETY: AVX2 checked above.
        unsafe { avx2::quantize_rows(&x, &mut b, kq, 0..m) };
        assert_eq!(a.q, b.q);
        assert_eq!(a.d, b.d);
        assert_eq!(a.sum, b.sum);
        assert_eq!(a.bsums, b.bsums);
    }
}

#[test]
fn activation_quantization_follows_ggml() {
    // Q8_0: d = amax / 127 rounded to f16; values rounded half to even.
    let mut x = [0f32; 32];
    x[0] = 127.0;
    x[1] = 2.5;
    x[2] = -3.5;
    x[3] = 0.5;
    let mut q = [0i8; 32];
    let (d, s) = act::block32(&x, &mut q);
    assert_eq!(d, 1.0);
    assert_eq!(&q[..4], &[127, 2, -4, 0]);
    assert_eq!(s, 127 + 2 - 4);
    // Q8_K: the scale comes from the signed value of largest magnitude (the first of equals).
    let mut x = [0f32; 256];
    x[10] = -2.0;
    x[20] = 2.0;
    x[30] = 1.0;
    let mut q = [0i8; 256];
    let mut bs = [0i16; 16];
    let d = act::block256(&x, &mut q, &mut bs);
    assert_eq!(d, 1.0 / (-127.0 / -2.0));
    assert_eq!((q[10], q[20], q[30]), (-127, 127, 64), "63.5 rounds to even");
    assert_eq!(bs[0], -127);
    assert_eq!(bs[1], 127 + 64);
}

/// f64 reference on the same quantized activations: sum over blocks of dequantized weight times dequantized
/// activation.
fn reference(ty: WeightType, data: &[u8], n: usize, k: usize, acts: &Acts) -> Vec<f64> {
    let w = dequantize_ggml(ty, data, n, k);
    let mut out = vec![0f64; acts.m * n];
    let be = if ty.is_k() { 256 } else { 32 };
    for j in 0..acts.m {
        for r in 0..n {
            let mut s = 0f64;
            for kk in 0..k {
                let a = f64::from(acts.q[j * k + kk]) * f64::from(acts.d[j * (k / be) + kk / be]);
                s += f64::from(w[r * k + kk]) * a;
            }
            out[j * n + r] = s;
        }
    }
    out
}

#[test]
fn kernels_match_f64_arithmetic_and_simd_matches_portable() {
    let mut rng = Rng(0xdead_beef);
    for ty in WeightType::ALL {
        let be = ty.block_elems();
        for &(n, kb) in &[(8usize, 1usize), (13, 3), (24, 9)] {
            let k = kb * be;
            let data = random_matrix(ty, n, k, &mut rng);
            let mat = QuantMatrix::from_ggml(ty, n, k, &data).unwrap();
            for m in [1usize, 2, 3, 4, 5, 7, 9] {
                let x = random_acts(m * k, &mut rng);
                let mut portable = vec![0f32; m * n];
                mat.matmul_with(Isa::Portable, &x, m, &mut portable).unwrap();
                let mut acts = Acts::default();
                acts.resize(m, k, ty.is_k());
                act::quantize_rows_scalar(&x, &mut acts, ty.is_k(), 0..m);
                let expected = reference(ty, &data, n, k, &acts);
                let scale = expected.iter().fold(0f64, |a, v| a.max(v.abs())).max(1e-3);
                for (i, (&got, &want)) in portable.iter().zip(&expected).enumerate() {
                    assert!(
                        (f64::from(got) - want).abs() <= 2e-5 * scale,
                        "{ty:?} n={n} k={k} m={m} [{i}]: {got} vs {want}"
                    );
                }
                let mut simd = vec![0f32; m * n];
                mat.matmul_with(Isa::detect(), &x, m, &mut simd).unwrap();
                assert_eq!(simd, portable, "{ty:?} n={n} k={k} m={m}: SIMD and portable differ");
            }
        }
    }
}

#[test]
fn chunked_sums_equal_unchunked_sums() {
    // With many activation rows the blocks are processed in chunks (the output accumulates between them);
    // the result must not depend on it: compare row 0 of a 128-row product with a 1-row product.
    let mut rng = Rng(4242);
    for ty in WeightType::ALL {
        let (n, k) = (16, 4096);
        let data = random_matrix(ty, n, k, &mut rng);
        let mat = QuantMatrix::from_ggml(ty, n, k, &data).unwrap();
        let m = 128;
        assert!(mat.chunk_blocks(m) < mat.blocks, "the test must exercise several chunks");
        let x = random_acts(m * k, &mut rng);
        let mut all = vec![0f32; m * n];
        mat.matmul(&x, m, &mut all).unwrap();
        for j in [0, 77, 127] {
            let mut one = vec![0f32; n];
            mat.matmul(&x[j * k..(j + 1) * k], 1, &mut one).unwrap();
            assert_eq!(one, all[j * n..(j + 1) * n], "{ty:?} row {j}");
        }
    }
}

#[test]
fn panel_sizes_are_consistent() {
    assert_eq!(PANEL32, 16 + 256);
    assert_eq!(PANEL256, 2048 + 512 + 256 + 64);
    for ty in WeightType::ALL {
        assert!(ty.packed_bytes() >= ROWS * ty.ggml_block_bytes());
    }
}

/// The block decoders themselves against candle's (an independent implementation of ggml's formats), so that the
/// tests above, which decode with `blocks`, rest on something outside this module.
#[test]
fn block_decoding_matches_candle() {
    use candle_core::quantized::{GgmlDType, ggml_file::qtensor_from_ggml};
    let mut rng = Rng(0x5eed);
    for ty in WeightType::ALL {
        let dtype = match ty {
            WeightType::Q4_0 => GgmlDType::Q4_0,
            WeightType::Q5_0 => GgmlDType::Q5_0,
            WeightType::Q8_0 => GgmlDType::Q8_0,
            WeightType::Q4_K => GgmlDType::Q4K,
            WeightType::Q5_K => GgmlDType::Q5K,
            WeightType::Q6_K => GgmlDType::Q6K,
        };
        let (rows, cols) = (3, 2 * ty.block_elems());
        let data = random_matrix(ty, rows, cols, &mut rng);
        let ours = dequantize_ggml(ty, &data, rows, cols);
        let candle = qtensor_from_ggml(dtype, &data, vec![rows, cols], &candle_core::Device::Cpu)
            .and_then(|t| t.dequantize(&candle_core::Device::Cpu))
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .unwrap();
        let scale = candle.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-30);
        for (i, (a, b)) in ours.iter().zip(&candle).enumerate() {
            assert!((a - b).abs() <= 1e-5 * scale, "{ty:?} value {i}: ours {a}, candle {b}");
        }
    }
}

/// The AVX-512 decoding kernel gives exactly what the AVX2 one gives (same integer sums, same float operations),
/// over several super-blocks, starting mid-row and accumulating onto a previous value.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_decoding_matches_avx2() {
    if !super::avx512::available() || !Isa::Avx2.available() {
        eprintln!("skipped: this CPU has no AVX-512 VNNI");
        return;
    }
    let mut rng = Rng(0x5eed);
    for ty in [WeightType::Q4_K, WeightType::Q6_K] {
        let (n, kb) = (8usize, 5usize);
        let k = kb * 256;
        let data = random_matrix(ty, n, k, &mut rng);
        let mat = QuantMatrix::from_ggml(ty, n, k, &data).unwrap();
        for m in [1usize, 3] {
            let x = random_acts(m * k, &mut rng);
            let mut acts = Acts::default();
            acts.resize(m, k, true);
            act::quantize_rows_scalar(&x, &mut acts, true, 0..m);
            let packed = mat.group(0);
            for (col, blk0, nb) in [(0, 0, kb), (m - 1, 1, 3), (m - 1, 4, 1)] {
                let start: [f32; 8] = std::array::from_fn(|i| i as f32 * 0.25 - 1.0);
                let (mut want, mut got) = (start, start);
                let bytes = &packed[blk0 * ty.packed_bytes()..];
                // SAFETY: both kernels' features were detected above.
                unsafe {
                    super::avx2::direct256(ty, bytes, nb, &acts, col, blk0, &mut want);
                    super::avx512::direct256(ty, bytes, nb, &acts, col, blk0, &mut got);
                }
                assert_eq!(got, want, "{ty:?} m={m} col={col} blocks {blk0}..{}", blk0 + nb);
            }
        }
    }
}

/// The AVX-512 VNNI prompt kernel gives exactly what the AVX2 one gives, for every K-quant, every tile width
/// and both ways of applying mins, over several super-blocks, accumulating onto a previous value.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_prompt_tiles_match_avx2() {
    if !super::avx512::available() || !Isa::Avx2.available() {
        eprintln!("skipped: this CPU has no AVX-512 VNNI");
        return;
    }
    let mut rng = Rng(0x7a11);
    for ty in [WeightType::Q4_K, WeightType::Q5_K, WeightType::Q6_K] {
        let (n, kb, m) = (8usize, 4usize, 6usize);
        let k = kb * 256;
        let data = random_matrix(ty, n, k, &mut rng);
        let mat = QuantMatrix::from_ggml(ty, n, k, &data).unwrap();
        let x = random_acts(m * k, &mut rng);
        let mut acts = Acts::default();
        acts.resize(m, k, true);
        act::quantize_rows_scalar(&x, &mut acts, true, 0..m);
        let mut panel = vec![0u8; kb * ty.panel_bytes()];
        // SAFETY: AVX2 was detected above.
        unsafe { avx2::unpack(ty, mat.group(0), kb, &mut panel) };
        for (cols, blk0, nb) in [(0..4, 0, kb), (1..4, 1, 3), (2..4, 2, 1), (5..6, 0, kb)] {
            for share in [true, false] {
                let start: Vec<[f32; 8]> =
                    (0..cols.len()).map(|c| std::array::from_fn(|i| (c * 8 + i) as f32 * 0.125 - 1.0)).collect();
                let (mut want, mut got) = (start.clone(), start);
                let p = &panel[blk0 * ty.panel_bytes()..];
                // SAFETY: both kernels' features were detected above.
                unsafe {
                    avx2::tile256(p, nb, &acts, cols.clone(), blk0, share, &mut want);
                    super::avx512::tile256(p, nb, &acts, cols.clone(), blk0, share, &mut got);
                }
                assert_eq!(got, want, "{ty:?} cols {cols:?} blocks {blk0}..{} share {share}", blk0 + nb);
            }
        }
    }
}

/// The same for the 32-element formats: AVX-512 VNNI tiles give exactly what AVX2's give.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_prompt_tiles_match_avx2_for_32_element_blocks() {
    if !super::avx512::available() || !Isa::Avx2.available() {
        eprintln!("skipped: this CPU has no AVX-512 VNNI");
        return;
    }
    let mut rng = Rng(0x32b1);
    for ty in [WeightType::Q8_0, WeightType::Q4_0, WeightType::Q5_0] {
        let (n, kb, m) = (8usize, 12usize, 6usize);
        let k = kb * 32;
        let data = random_matrix(ty, n, k, &mut rng);
        let mat = QuantMatrix::from_ggml(ty, n, k, &data).unwrap();
        let x = random_acts(m * k, &mut rng);
        let mut acts = Acts::default();
        acts.resize(m, k, false);
        act::quantize_rows_scalar(&x, &mut acts, false, 0..m);
        let mut panel = vec![0u8; kb * ty.panel_bytes()];
        // SAFETY: AVX2 was detected above.
        unsafe { avx2::unpack(ty, mat.group(0), kb, &mut panel) };
        for (cols, blk0, nb) in [(0..4, 0, kb), (1..4, 1, 7), (2..4, 11, 1), (5..6, 0, kb)] {
            let start: Vec<[f32; 8]> =
                (0..cols.len()).map(|c| std::array::from_fn(|i| (c * 8 + i) as f32 * 0.125 - 1.0)).collect();
            let (mut want, mut got) = (start.clone(), start);
            let p = &panel[blk0 * ty.panel_bytes()..];
            // SAFETY: both kernels' features were detected above.
            unsafe {
                avx2::tile32(p, nb, &acts, cols.clone(), blk0, ty.offset_shift(), &mut want);
                super::avx512::tile32(p, nb, &acts, cols.clone(), blk0, ty.offset_shift(), &mut got);
            }
            assert_eq!(got, want, "{ty:?} cols {cols:?} blocks {blk0}..{}", blk0 + nb);
        }
    }
}
