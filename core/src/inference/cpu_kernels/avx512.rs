//! AVX-512 (VL, VNNI) versions of the AVX2 kernels: `vpdpbusd` adds four byte products into a dword where
//! AVX2 needs `maddubs` and `madd`. `direct256` decodes Q4_K and Q6_K (one activation row), `tile256` and
//! `tile32` process prompts. All in 256-bit registers with embedded broadcasts of the activations (Zen 4
//! splits 512-bit operations in two, and the 512-bit decoding kernel measured slower for its shuffles). The
//! integer sums are exactly those of the AVX2 kernels (no product saturates there either) and the float
//! operations the same, in the same order, so the results are bit-identical: the tests check it, and
//! `JAN_CPU_AVX512=0` turns this path off.

use std::arch::x86_64::*;
use std::sync::OnceLock;

use super::act::Acts;
use super::avx2::{check_acts, dup_rows, mins_q6k, prefetch_ahead, tile256_finish};
use super::layout::{PANEL32, PANEL256, PANEL256_SC, ROWS, WeightType};
use std::ops::Range;

/// Whether this CPU runs these kernels (and `JAN_CPU_AVX512` does not say `0`); detected once.
pub(crate) fn available() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        std::env::var("JAN_CPU_AVX512").map_or(true, |v| v != "0")
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
            && std::arch::is_x86_feature_detected!("avx512vl")
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
///
/// 256-bit registers on purpose: each packed 32-byte register (a quad of eight rows) meets one activation quad,
/// which `vpdpbusd` takes straight from memory as an embedded broadcast, so no shuffle is spent on the
/// activations (the 512-bit form needed two `vpermd` per 64 bytes, and on Zen 4 a 512-bit operation costs two
/// 256-bit ones anyway). Q4_K's high nibbles are multiplied in place (`& 0xf0`, sixteen times the value) and
/// their exact sum shifted back; Q6_K's two high bits are merged with one `vpternlogd`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
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
    check_acts(acts, &(col..col + 1), blk0, nb, 256);
    let nbk = acts.k / 256;
    assert!(acts.bsums.len() >= acts.m * nbk * 16);
    let a = acts.q[col * acts.k..].as_ptr();
    let bs = acts.bsums[col * nbk * 16..].as_ptr();
    let m0f = _mm256_set1_epi8(0x0f);
    let mf0 = _mm256_set1_epi8(0xf0u8 as i8);
    let m30 = _mm256_set1_epi8(0x30);
    let ld = |p: *const u8| unsafe { _mm256_loadu_si256(p.cast()) };
    // `(x & 0x0f) | h`, for `h` already masked to bits 4 and 5.
    let merge = |x: __m256i, h: __m256i| _mm256_ternarylogic_epi32::<0xEC>(x, h, m0f);
    let q6 = ty == WeightType::Q6_K;
    // SAFETY: `acc` holds eight f32.
    let mut accv = unsafe { _mm256_loadu_ps(acc.as_ptr()) };
    for b in 0..nb {
        // SAFETY: packed super-block `b` (`pb` bytes) and activation super-block `blk0 + b` of row `col` are in
        // bounds (checked above); offsets follow `layout`, as in `avx2::direct256`.
        unsafe {
            let p = packed.as_ptr().add(b * pb);
            prefetch_ahead(p, pb);
            let ab = a.add((blk0 + b) * 256);
            // Activation quad `q` (elements `4q..4q + 4` of this super-block) in every dword.
            let quad = |q: usize| _mm256_set1_epi32(std::ptr::read_unaligned(ab.add(4 * q).cast::<i32>()));
            let sums = |k: usize| _mm256_set1_epi32(std::ptr::read_unaligned(bs.add((blk0 + b) * 16 + 2 * k).cast()));
            let mut ai = _mm256_setzero_si256();
            let mut mi = _mm256_setzero_si256();
            let da = _mm256_set1_ps(*acts.d.get_unchecked(col * nbk + blk0 + b));
            let d = _mm256_cvtph_ps(_mm_loadu_si128(p.cast()));
            if q6 {
                // Sub-block `s` (16 elements) is packed registers `2s` and `2s + 1`, whose high bits share the
                // two-bit register `s`: bits 0-1 and 2-3 of each byte for the first one's low and high
                // nibbles, 4-5 and 6-7 for the second one's.
                for s in 0..16 {
                    let h = ld(p.add(1168 + 32 * s));
                    let l0 = ld(p.add(144 + 64 * s));
                    let l1 = ld(p.add(176 + 64 * s));
                    let lo0 = merge(l0, _mm256_and_si256(_mm256_slli_epi16::<4>(h), m30));
                    let hi0 = merge(_mm256_srli_epi16::<4>(l0), _mm256_and_si256(_mm256_slli_epi16::<2>(h), m30));
                    let lo1 = merge(l1, _mm256_and_si256(h, m30));
                    let hi1 = merge(_mm256_srli_epi16::<4>(l1), _mm256_and_si256(_mm256_srli_epi16::<2>(h), m30));
                    let t = _mm256_dpbusd_epi32(_mm256_setzero_si256(), lo0, quad(4 * s));
                    let t = _mm256_dpbusd_epi32(t, hi0, quad(4 * s + 1));
                    let t = _mm256_dpbusd_epi32(t, lo1, quad(4 * s + 2));
                    let t = _mm256_dpbusd_epi32(t, hi1, quad(4 * s + 3));
                    let sc = _mm256_cvtepi8_epi32(_mm_loadl_epi64(p.add(16 + 8 * s).cast()));
                    ai = _mm256_add_epi32(ai, _mm256_mullo_epi32(t, sc));
                }
                for k in 0..8 {
                    mi = _mm256_add_epi32(mi, _mm256_madd_epi16(mins_q6k(p, k), sums(k)));
                }
                let isum = _mm256_cvtepi32_ps(_mm256_sub_epi32(ai, mi));
                accv = _mm256_fmadd_ps(isum, _mm256_mul_ps(d, da), accv);
            } else {
                // Sub-block `j` (32 elements) is packed registers `4j..4j + 4`.
                for j in 0..8 {
                    let mut tl = _mm256_setzero_si256();
                    let mut th = _mm256_setzero_si256();
                    for i in 4 * j..4 * j + 4 {
                        let l = ld(p.add(160 + 32 * i));
                        tl = _mm256_dpbusd_epi32(tl, _mm256_and_si256(l, m0f), quad(2 * i));
                        th = _mm256_dpbusd_epi32(th, _mm256_and_si256(l, mf0), quad(2 * i + 1));
                    }
                    // `th` is sixteen times the high nibbles' sum (at most 491,520: no overflow), exactly.
                    let t = _mm256_add_epi32(tl, _mm256_srai_epi32::<4>(th));
                    let sc = _mm256_cvtepu8_epi32(_mm_loadl_epi64(p.add(32 + 8 * j).cast()));
                    ai = _mm256_add_epi32(ai, _mm256_mullo_epi32(t, sc));
                    let m = dup_rows(_mm_cvtepu8_epi16(_mm_loadl_epi64(p.add(96 + 8 * j).cast())));
                    mi = _mm256_add_epi32(mi, _mm256_madd_epi16(m, sums(j)));
                }
                let dmin = _mm256_cvtph_ps(_mm_loadu_si128(p.add(16).cast()));
                accv = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ai), _mm256_mul_ps(d, da), accv);
                accv = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mi), _mm256_mul_ps(dmin, da), accv);
            }
        }
    }
    // SAFETY: `acc` holds eight f32.
    unsafe { _mm256_storeu_ps(acc.as_mut_ptr(), accv) };
}

/// `avx2::tile256` (K-quant panels against up to four activation rows, prompt processing) with 256-bit VNNI:
/// `vpdpbusd` adds the four quads of a 16-element sub-block into each row's dword, then one multiply by its
/// scale, where AVX2 needs `maddubs`, an add and `madd` for every two quads. The integer sums are the same
/// (AVX2's never saturate there), so are the results.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
pub(crate) fn tile256(
    panel: &[u8],
    nb: usize,
    acts: &Acts,
    cols: Range<usize>,
    blk0: usize,
    mins_share_scale: bool,
    acc: &mut [[f32; ROWS]],
) {
    assert!(panel.len() >= nb * PANEL256 && acc.len() >= cols.len());
    check_acts(acts, &cols, blk0, nb, 256);
    assert!(acts.bsums.len() >= acts.m * (acts.k / 16));
    // SAFETY: the bounds were checked above (and this function's target features are enabled).
    unsafe {
        match (cols.len(), mins_share_scale) {
            (4, true) => tile256_n::<4, true>(panel, nb, acts, cols.start, blk0, acc),
            (3, true) => tile256_n::<3, true>(panel, nb, acts, cols.start, blk0, acc),
            (2, true) => tile256_n::<2, true>(panel, nb, acts, cols.start, blk0, acc),
            (1, true) => tile256_n::<1, true>(panel, nb, acts, cols.start, blk0, acc),
            (4, false) => tile256_n::<4, false>(panel, nb, acts, cols.start, blk0, acc),
            (3, false) => tile256_n::<3, false>(panel, nb, acts, cols.start, blk0, acc),
            (2, false) => tile256_n::<2, false>(panel, nb, acts, cols.start, blk0, acc),
            (1, false) => tile256_n::<1, false>(panel, nb, acts, cols.start, blk0, acc),
            _ => {}
        }
    }
}

/// # Safety
/// Bounds as checked by `tile256`; its target features available.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn tile256_n<const N: usize, const SHARE: bool>(
    panel: &[u8],
    nb: usize,
    acts: &Acts,
    col0: usize,
    blk0: usize,
    acc: &mut [[f32; ROWS]],
) {
    let k = acts.k;
    let nbk = k / 256;
    let ld = |p: *const u8| unsafe { _mm256_loadu_si256(p.cast()) };
    // SAFETY: `acc` has at least N rows of eight f32.
    let mut accv: [__m256; N] = std::array::from_fn(|j| unsafe { _mm256_loadu_ps(acc[j].as_ptr()) });
    let aq: [*const i8; N] = std::array::from_fn(|j| acts.q[(col0 + j) * k..].as_ptr());
    let bs: [*const i16; N] = std::array::from_fn(|j| acts.bsums[(col0 + j) * nbk * 16..].as_ptr());
    for b in 0..nb {
        // SAFETY: panel super-block `b` and activation super-blocks `blk0 + b` of rows `col0..col0 + N` are in
        // bounds (checked by `tile256`); offsets follow `layout`.
        unsafe {
            let blk = panel.as_ptr().add(b * PANEL256);
            let ab = (blk0 + b) * 256;
            let mut ai = [_mm256_setzero_si256(); N];
            for s in 0..16 {
                // Each row's scale is in both halves of its dword; the high one, sign-extended.
                let sc = _mm256_srai_epi32::<16>(ld(blk.add(PANEL256_SC + 32 * s)));
                let w: [__m256i; 4] = std::array::from_fn(|q| ld(blk.add(32 * (4 * s + q))));
                for j in 0..N {
                    let a = aq[j].add(ab + 16 * s);
                    let mut t = _mm256_setzero_si256();
                    for (q, wq) in w.iter().enumerate() {
                        let x = _mm256_set1_epi32(std::ptr::read_unaligned(a.add(4 * q).cast::<i32>()));
                        t = _mm256_dpbusd_epi32(t, *wq, x);
                    }
                    ai[j] = _mm256_add_epi32(ai[j], _mm256_mullo_epi32(t, sc));
                }
            }
            tile256_finish::<N, SHARE>(blk, acts, &bs, col0, blk0 + b, &ai, &mut accv);
        }
    }
    for j in 0..N {
        // SAFETY: `acc` has at least N rows of eight f32.
        unsafe { _mm256_storeu_ps(acc[j].as_mut_ptr(), accv[j]) };
    }
}

/// `avx2::tile32` (Q8_0, Q4_0, Q5_0 panels against up to four activation rows) with 256-bit VNNI: one
/// `vpdpbusd` per quad and row instead of `maddubs` plus an add (and for Q8_0 `abs` and `sign`). Q8_0's signed
/// weights are made unsigned by adding 128 (`xor 0x80`) and `128 * sum(a)` taken off, as the offset formats
/// take off theirs: exact integers, so the same results as AVX2's.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
pub(crate) fn tile32(
    panel: &[u8],
    nb: usize,
    acts: &Acts,
    cols: Range<usize>,
    blk0: usize,
    offset_shift: Option<u32>,
    acc: &mut [[f32; ROWS]],
) {
    assert!(panel.len() >= nb * PANEL32 && acc.len() >= cols.len());
    check_acts(acts, &cols, blk0, nb, 32);
    assert!(acts.sum.len() >= acts.m * (acts.k / 32));
    // Q8_0: weights + 128, so 128 times the activations' sum comes off.
    let (shift, flip) = match offset_shift {
        Some(s) => (s, 0),
        None => (7, 0x80u8 as i8),
    };
    // SAFETY: the bounds were checked above (and this function's target features are enabled).
    unsafe {
        match cols.len() {
            4 => tile32_n::<4>(panel, nb, acts, cols.start, blk0, shift, flip, acc),
            3 => tile32_n::<3>(panel, nb, acts, cols.start, blk0, shift, flip, acc),
            2 => tile32_n::<2>(panel, nb, acts, cols.start, blk0, shift, flip, acc),
            1 => tile32_n::<1>(panel, nb, acts, cols.start, blk0, shift, flip, acc),
            _ => {}
        }
    }
}

/// # Safety
/// Bounds as checked by `tile32`; its target features available.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile32_n<const N: usize>(
    panel: &[u8],
    nb: usize,
    acts: &Acts,
    col0: usize,
    blk0: usize,
    shift: u32,
    flip: i8,
    acc: &mut [[f32; ROWS]],
) {
    let k = acts.k;
    let nbk = k / 32;
    let flip = _mm256_set1_epi8(flip);
    // SAFETY: `acc` has at least N rows of eight f32.
    let mut accv: [__m256; N] = std::array::from_fn(|j| unsafe { _mm256_loadu_ps(acc[j].as_ptr()) });
    let aq: [*const i8; N] = std::array::from_fn(|j| acts.q[(col0 + j) * k..].as_ptr());
    for b in 0..nb {
        // SAFETY: panel block `b` and activation blocks `blk0 + b` of rows `col0..col0 + N` are in bounds
        // (checked by `tile32`); offsets follow `layout`.
        unsafe {
            let blk = panel.as_ptr().add(b * PANEL32);
            if N == 1 {
                // One activation row: see `avx2::tile32_n`.
                prefetch_ahead(blk, PANEL32);
            }
            let dw = _mm256_cvtph_ps(_mm_loadu_si128(blk.cast()));
            let q = blk.add(16);
            let ab = (blk0 + b) * 32;
            let mut s = [_mm256_setzero_si256(); N];
            for g in 0..8 {
                let w = _mm256_xor_si256(_mm256_loadu_si256(q.add(32 * g).cast()), flip);
                for j in 0..N {
                    let a = _mm256_set1_epi32(std::ptr::read_unaligned(aq[j].add(ab + 4 * g).cast::<i32>()));
                    s[j] = _mm256_dpbusd_epi32(s[j], w, a);
                }
            }
            for j in 0..N {
                let blk_ix = (col0 + j) * nbk + blk0 + b;
                let corr = _mm256_set1_epi32(*acts.sum.get_unchecked(blk_ix) << shift);
                let isum = _mm256_cvtepi32_ps(_mm256_sub_epi32(s[j], corr));
                let da = _mm256_set1_ps(*acts.d.get_unchecked(blk_ix));
                accv[j] = _mm256_fmadd_ps(isum, _mm256_mul_ps(dw, da), accv[j]);
            }
        }
    }
    for j in 0..N {
        // SAFETY: `acc` has at least N rows of eight f32.
        unsafe { _mm256_storeu_ps(acc[j].as_mut_ptr(), accv[j]) };
    }
}
