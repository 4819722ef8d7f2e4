//! AVX-512 (BW, VNNI) version of the K-quant decoding kernel (`avx2::direct256`): two quads of the eight rows
//! per register and `vpdpbusd` for the byte products, so a decoding step reads Q4_K and Q6_K weights at memory
//! speed where AVX2's `maddubs` + `madd` chain was the limit (a 7B Q4_K_M model decoded at 0.72x llama.cpp's
//! speed on two cores). The integer sums are exactly those of the AVX2 kernel (no product saturates there
//! either) and the float operations the same, in the same order, so the results are bit-identical: the tests
//! check it, and `JAN_CPU_AVX512=0` turns this path off.

use std::arch::x86_64::*;
use std::sync::OnceLock;

use super::act::Acts;
use super::avx2::{dup_rows, mins_q6k, prefetch_ahead};
use super::layout::{ROWS, WeightType};

/// Whether this CPU runs these kernels (and `JAN_CPU_AVX512` does not say `0`); detected once.
pub(crate) fn available() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        std::env::var("JAN_CPU_AVX512").map_or(true, |v| v != "0")
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
    })
}

/// Whether [`direct256`] handles weights of `ty`.
pub(crate) fn handles(ty: WeightType) -> bool {
    matches!(ty, WeightType::Q4_K | WeightType::Q6_K)
}

/// `avx2::direct256` for Q4_K and Q6_K: one activation row (`col`) against `nb` packed super-blocks of a group
/// of eight rows, accumulated into `acc`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
pub(crate) fn direct256(
    ty: WeightType,
    packed: &[u8],
    nb: usize,
    acts: &Acts,
    col: usize,
    blk0: usize,
    acc: &mut [f32; ROWS],
) {
    assert!(handles(ty));
    let pb = ty.packed_bytes();
    assert!(packed.len() >= nb * pb);
    let nbk = acts.k / 256;
    assert!(blk0 + nb <= nbk && col < acts.m);
    assert!(acts.q.len() >= acts.m * acts.k && acts.d.len() >= acts.m * nbk);
    assert!(acts.bsums.len() >= acts.m * nbk * 16);
    let a = acts.q[col * acts.k..].as_ptr();
    let bs = acts.bsums[col * nbk * 16..].as_ptr();
    let m0f = _mm512_set1_epi8(0x0f);
    let m30 = _mm512_set1_epi8(0x30);
    // Sixteen activation bytes hold the quads of two consecutive packed 32-byte rows (`i`, `i + 1`): low nibbles
    // take dwords 0 and 2, high nibbles 1 and 3, each broadcast over its half of the register.
    let lo_idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2);
    let hi_idx = _mm512_setr_epi32(1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3);
    let q6 = ty == WeightType::Q6_K;
    // SAFETY: `acc` holds eight f32.
    let mut accv = unsafe { _mm256_loadu_ps(acc.as_ptr()) };
    for b in 0..nb {
        // SAFETY: packed super-block `b` (`pb` bytes) and activation super-block `blk0 + b` of row `col` are in
        // bounds (checked above); offsets follow `layout`, as in `avx2::direct256`.
        unsafe {
            let p = packed.as_ptr().add(b * pb);
            prefetch_ahead(p, pb);
            let ab = (blk0 + b) * 256;
            let sums = |k: usize| _mm256_set1_epi32(std::ptr::read_unaligned(bs.add((blk0 + b) * 16 + 2 * k).cast()));
            let acts16 = |i: usize| _mm512_castsi128_si512(_mm_loadu_si128(a.add(ab + 8 * i).cast()));
            let mut ai = _mm512_setzero_si512();
            let mut mi = _mm256_setzero_si256();
            let da = _mm256_set1_ps(*acts.d.get_unchecked(col * nbk + blk0 + b));
            let d = _mm256_cvtph_ps(_mm_loadu_si128(p.cast()));
            if q6 {
                // Sub-block `s` (16 elements) is packed rows `2s` and `2s + 1`, whose high bits share 32 bytes:
                // bits 0-3 of each byte for the first row, 4-7 for the second.
                for s in 0..16 {
                    let l = _mm512_loadu_si512(p.add(144 + 64 * s).cast());
                    let h = _mm256_loadu_si256(p.add(1168 + 32 * s).cast());
                    let h = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(h), _mm256_srli_epi16::<4>(h));
                    let lo =
                        _mm512_or_si512(_mm512_and_si512(l, m0f), _mm512_and_si512(_mm512_slli_epi16::<4>(h), m30));
                    let hi = _mm512_or_si512(
                        _mm512_and_si512(_mm512_srli_epi16::<4>(l), m0f),
                        _mm512_and_si512(_mm512_slli_epi16::<2>(h), m30),
                    );
                    let x = acts16(2 * s);
                    let t = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, _mm512_permutexvar_epi32(lo_idx, x));
                    let t = _mm512_dpbusd_epi32(t, hi, _mm512_permutexvar_epi32(hi_idx, x));
                    let sc = _mm512_broadcast_i64x4(_mm256_cvtepi8_epi32(_mm_loadl_epi64(p.add(16 + 8 * s).cast())));
                    ai = _mm512_add_epi32(ai, _mm512_mullo_epi32(t, sc));
                }
                for k in 0..8 {
                    mi = _mm256_add_epi32(mi, _mm256_madd_epi16(mins_q6k(p, k), sums(k)));
                }
                let isum = _mm256_cvtepi32_ps(_mm256_sub_epi32(fold(ai), mi));
                accv = _mm256_fmadd_ps(isum, _mm256_mul_ps(d, da), accv);
            } else {
                // Sub-block `j` (32 elements) is packed rows `4j..4j + 4`.
                for j in 0..8 {
                    let mut t = _mm512_setzero_si512();
                    for i in [4 * j, 4 * j + 2] {
                        let l = _mm512_loadu_si512(p.add(160 + 32 * i).cast());
                        let lo = _mm512_and_si512(l, m0f);
                        let hi = _mm512_and_si512(_mm512_srli_epi16::<4>(l), m0f);
                        let x = acts16(i);
                        t = _mm512_dpbusd_epi32(t, lo, _mm512_permutexvar_epi32(lo_idx, x));
                        t = _mm512_dpbusd_epi32(t, hi, _mm512_permutexvar_epi32(hi_idx, x));
                    }
                    let sc = _mm512_broadcast_i64x4(_mm256_cvtepu8_epi32(_mm_loadl_epi64(p.add(32 + 8 * j).cast())));
                    ai = _mm512_add_epi32(ai, _mm512_mullo_epi32(t, sc));
                    let m = dup_rows(_mm_cvtepu8_epi16(_mm_loadl_epi64(p.add(96 + 8 * j).cast())));
                    mi = _mm256_add_epi32(mi, _mm256_madd_epi16(m, sums(j)));
                }
                let dmin = _mm256_cvtph_ps(_mm_loadu_si128(p.add(16).cast()));
                accv = _mm256_fmadd_ps(_mm256_cvtepi32_ps(fold(ai)), _mm256_mul_ps(d, da), accv);
                accv = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mi), _mm256_mul_ps(dmin, da), accv);
            }
        }
    }
    // SAFETY: `acc` holds eight f32.
    unsafe { _mm256_storeu_ps(acc.as_mut_ptr(), accv) };
}

/// The two halves of `v` (the same eight rows) added.
#[target_feature(enable = "avx512f,avx2")]
fn fold(v: __m512i) -> __m256i {
    _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64::<1>(v))
}
