//! AVX2 (+FMA, F16C) versions of the kernels: activation quantization, unpacking packed blocks into panels, and
//! the register-tiled products (eight weight rows in the lanes of a register, up to four activation rows).
//! Every function here must give bit-identical results to its portable twin (`act`, `layout`, `micro`); the
//! tests check that. Callers must have checked `Isa::Avx2` is available (`is_x86_feature_detected!`).

use std::arch::x86_64::*;
use std::ops::Range;

use super::act::Acts;
use super::layout::{PANEL32, PANEL256, PANEL256_D, PANEL256_DMIN, PANEL256_M, PANEL256_SC, ROWS, WeightType};

// ---------------------------------------------------------------------------------------------------------------
// Activation quantization
// ---------------------------------------------------------------------------------------------------------------

/// Quantizes rows `rows` of `x` into `acts` (see `act` for the rules).
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) fn quantize_rows(x: &[f32], acts: &mut Acts, k_quant: bool, rows: Range<usize>) {
    let k = acts.k;
    assert!(rows.end * k <= x.len() && rows.end * k <= acts.q.len());
    for i in rows {
        let xr = &x[i * k..(i + 1) * k];
        if k_quant {
            let nb = k / 256;
            for b in 0..nb {
                let q = &mut acts.q[i * k + 256 * b..i * k + 256 * (b + 1)];
                let bs = &mut acts.bsums[(i * nb + b) * 16..(i * nb + b + 1) * 16];
                acts.d[i * nb + b] = block256(&xr[256 * b..256 * (b + 1)], q, bs);
            }
        } else {
            let nb = k / 32;
            for b in 0..nb {
                let q = &mut acts.q[i * k + 32 * b..i * k + 32 * (b + 1)];
                let (d, s) = block32(&xr[32 * b..32 * (b + 1)], q);
                acts.d[i * nb + b] = d;
                acts.sum[i * nb + b] = s;
            }
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn hmax(v: __m256) -> f32 {
    let m = _mm_max_ps(_mm256_extractf128_ps::<1>(v), _mm256_castps256_ps128(v));
    let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    let m = _mm_max_ss(m, _mm_movehdup_ps(m));
    _mm_cvtss_f32(m)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn hsum_i32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_extracti128_si256::<1>(v), _mm256_castsi256_si128(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}

/// Four vectors of eight i32 (elements 0..32 in order) to 32 saturated i8, in order.
#[target_feature(enable = "avx2,fma,f16c")]
fn pack_i8(i: [__m256i; 4]) -> __m256i {
    let a = _mm256_packs_epi32(i[0], i[1]);
    let b = _mm256_packs_epi32(i[2], i[3]);
    let p = _mm256_packs_epi16(a, b);
    _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
}

#[target_feature(enable = "avx2,fma,f16c")]
fn load8(x: &[f32], at: usize) -> __m256 {
    let s = &x[at..at + 8];
    // SAFETY: `s` holds exactly eight f32; the load is unaligned.
    unsafe { _mm256_loadu_ps(s.as_ptr()) }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn store32(q: &mut [i8], v: __m256i) {
    let q = &mut q[..32];
    // SAFETY: `q` holds exactly 32 bytes; the store is unaligned.
    unsafe { _mm256_storeu_si256(q.as_mut_ptr().cast(), v) }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn block32(x: &[f32], q: &mut [i8]) -> (f32, i32) {
    let sign = _mm256_set1_ps(-0.0);
    let v: [__m256; 4] = std::array::from_fn(|i| load8(x, 8 * i));
    let mut amax = _mm256_andnot_ps(sign, v[0]);
    for vi in &v[1..] {
        amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, *vi));
    }
    let amax = hmax(amax);
    let d = amax / 127.0;
    let id = _mm256_set1_ps(if amax != 0.0 { 127.0 / amax } else { 0.0 });
    let i: [__m256i; 4] = std::array::from_fn(|j| {
        _mm256_cvtps_epi32(_mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
            v[j], id,
        )))
    });
    let packed = pack_i8(i);
    store32(q, packed);
    // The sum of the saturated bytes (the sums of pairs via maddubs against ones, then of the pairs).
    let pairs = _mm256_maddubs_epi16(_mm256_set1_epi8(1), packed);
    let sum = hsum_i32(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
    let dh = _mm_cvtps_ph::<{ _MM_FROUND_TO_NEAREST_INT }>(_mm_set_ss(d));
    (_mm_cvtss_f32(_mm_cvtph_ps(dh)), sum)
}

#[target_feature(enable = "avx2,fma,f16c")]
fn block256(x: &[f32], q: &mut [i8], bsums: &mut [i16]) -> f32 {
    let x = &x[..256];
    let sign = _mm256_set1_ps(-0.0);
    let mut amax = _mm256_setzero_ps();
    for c in 0..32 {
        amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, load8(x, 8 * c)));
    }
    let amax = hmax(amax);
    if amax == 0.0 {
        q[..256].fill(0);
        bsums[..16].fill(0);
        return 0.0;
    }
    // The first element of largest magnitude, as the portable loop picks it.
    let max = x.iter().copied().find(|v| v.abs() == amax).unwrap_or(amax);
    let iscale = -127.0 / max;
    let is = _mm256_set1_ps(iscale);
    let cap = _mm256_set1_epi32(127);
    let ones8 = _mm256_set1_epi8(1);
    let ones16 = _mm256_set1_epi16(1);
    for c in 0..8 {
        let i: [__m256i; 4] = std::array::from_fn(|j| {
            let v = _mm256_mul_ps(is, load8(x, 32 * c + 8 * j));
            _mm256_min_epi32(
                _mm256_cvtps_epi32(_mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v)),
                cap,
            )
        });
        let packed = pack_i8(i);
        store32(&mut q[32 * c..], packed);
        // Sums of 16: pairs, then quads (i32), then two halves of each 128-bit lane.
        let quads = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, packed), ones16);
        let s = _mm_add_epi32(
            _mm256_castsi256_si128(quads),
            _mm_shuffle_epi32::<0b01_00_11_10>(_mm256_castsi256_si128(quads)),
        );
        let hi = _mm256_extracti128_si256::<1>(quads);
        let t = _mm_add_epi32(hi, _mm_shuffle_epi32::<0b01_00_11_10>(hi));
        bsums[2 * c] = (_mm_cvtsi128_si32(s) + _mm_extract_epi32::<1>(s)) as i16;
        bsums[2 * c + 1] = (_mm_cvtsi128_si32(t) + _mm_extract_epi32::<1>(t)) as i16;
    }
    1.0 / iscale
}

// ---------------------------------------------------------------------------------------------------------------
// Unpacking into panels
// ---------------------------------------------------------------------------------------------------------------

/// Loads 32 bytes at `p`.
///
/// # Safety
/// `p..p + 32` must be readable.
#[inline(always)]
unsafe fn ld(p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees 32 readable bytes.
    unsafe { _mm256_loadu_si256(p.cast()) }
}

/// Stores 32 bytes at `p`.
///
/// # Safety
/// `p..p + 32` must be writable.
#[inline(always)]
unsafe fn st(p: *mut u8, v: __m256i) {
    // SAFETY: the caller guarantees 32 writable bytes.
    unsafe { _mm256_storeu_si256(p.cast(), v) }
}

/// The 5th bit of quad `g` (bit `g` of each byte of `h`) moved to bit 4.
#[inline(always)]
fn bit_to_4(h: __m256i, g: usize) -> __m256i {
    // SAFETY (target features): only called from functions compiled with AVX2.
    unsafe {
        let m = _mm256_set1_epi8(0x10);
        match g {
            0 => _mm256_and_si256(_mm256_slli_epi16::<4>(h), m),
            1 => _mm256_and_si256(_mm256_slli_epi16::<3>(h), m),
            2 => _mm256_and_si256(_mm256_slli_epi16::<2>(h), m),
            3 => _mm256_and_si256(_mm256_slli_epi16::<1>(h), m),
            4 => _mm256_and_si256(h, m),
            5 => _mm256_and_si256(_mm256_srli_epi16::<1>(h), m),
            6 => _mm256_and_si256(_mm256_srli_epi16::<2>(h), m),
            _ => _mm256_and_si256(_mm256_srli_epi16::<3>(h), m),
        }
    }
}

/// Bits `2t, 2t+1` of each byte of `h` moved to bits 4, 5.
#[inline(always)]
fn bits2_to_4(h: __m256i, t: usize) -> __m256i {
    // SAFETY (target features): only called from functions compiled with AVX2.
    unsafe {
        let m = _mm256_set1_epi8(0x30);
        match t {
            0 => _mm256_and_si256(_mm256_slli_epi16::<4>(h), m),
            1 => _mm256_and_si256(_mm256_slli_epi16::<2>(h), m),
            2 => _mm256_and_si256(h, m),
            _ => _mm256_and_si256(_mm256_srli_epi16::<2>(h), m),
        }
    }
}

/// Unpacks `nb` packed blocks of `ty` into panel blocks (`out`). Q8_0 needs none (its packed form is a panel).
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) fn unpack(ty: WeightType, packed: &[u8], nb: usize, out: &mut [u8]) {
    let (pb, ob) = (ty.packed_bytes(), ty.panel_bytes());
    assert!(packed.len() >= nb * pb && out.len() >= nb * ob);
    for b in 0..nb {
        // SAFETY: block `b` of `packed` (`pb` bytes) and of `out` (`ob` bytes) are in bounds (checked above);
        // every access below stays within its block's layout (see `layout`).
        unsafe {
            let p = packed.as_ptr().add(b * pb);
            let o = out.as_mut_ptr().add(b * ob);
            match ty {
                WeightType::Q4_0 | WeightType::Q5_0 | WeightType::Q8_0 => unpack32(ty, p, o),
                WeightType::Q4_K | WeightType::Q5_K => unpack_q45k(ty == WeightType::Q5_K, p, o),
                WeightType::Q6_K => unpack_q6k(p, o),
            }
        }
    }
}

// The packed blocks' fields in register form, shared by `unpack` (which stores them as a panel) and the
// `direct*` kernels (which multiply them at once). Offsets follow `layout`. Safety, for each: `p` points to a
// whole packed block of the named type; AVX2 is available (they are only called from AVX2 functions).

/// Quads `2i` and `2i + 1` (`i` in `0..4`) of a Q4_0 (or Q5_0, `q5`) block: `q + offset` in bytes.
#[inline(always)]
unsafe fn quads32(q5: bool, p: *const u8, i: usize) -> (__m256i, __m256i) {
    // SAFETY: see above.
    unsafe {
        let m0f = _mm256_set1_epi8(0x0f);
        let l = ld(p.add(if q5 { 48 } else { 16 } + 32 * i));
        let lo = _mm256_and_si256(l, m0f);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(l), m0f);
        if !q5 {
            return (lo, hi);
        }
        let h = ld(p.add(16));
        (_mm256_or_si256(lo, bit_to_4(h, 2 * i)), _mm256_or_si256(hi, bit_to_4(h, 2 * i + 1)))
    }
}

/// Quads `2i` and `2i + 1` (`i` in `0..32`) of a Q4_K (or Q5_K, `q5`) super-block.
#[inline(always)]
unsafe fn quads_q45k(q5: bool, p: *const u8, i: usize) -> (__m256i, __m256i) {
    // SAFETY: see above.
    unsafe {
        let m0f = _mm256_set1_epi8(0x0f);
        let l = ld(p.add(160 + 32 * i));
        let lo = _mm256_and_si256(l, m0f);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(l), m0f);
        if !q5 {
            return (lo, hi);
        }
        let h = ld(p.add(1184 + 32 * (i / 4)));
        (_mm256_or_si256(lo, bit_to_4(h, (2 * i) % 8)), _mm256_or_si256(hi, bit_to_4(h, (2 * i + 1) % 8)))
    }
}

/// Sub-block `j`'s (`0..8`, 32 elements) scales and mins of a Q4_K / Q5_K super-block, as i16 pairs per row.
#[inline(always)]
unsafe fn scale_min_q45k(p: *const u8, j: usize) -> (__m256i, __m256i) {
    // SAFETY: see above.
    unsafe {
        let sc = dup_rows(_mm_cvtepu8_epi16(_mm_loadl_epi64(p.add(32 + 8 * j).cast())));
        let m = dup_rows(_mm_cvtepu8_epi16(_mm_loadl_epi64(p.add(96 + 8 * j).cast())));
        (sc, m)
    }
}

/// Quads `2i` and `2i + 1` (`i` in `0..32`) of a Q6_K super-block: `q + 32` in bytes.
#[inline(always)]
unsafe fn quads_q6k(p: *const u8, i: usize) -> (__m256i, __m256i) {
    // SAFETY: see above.
    unsafe {
        let m0f = _mm256_set1_epi8(0x0f);
        let l = ld(p.add(144 + 32 * i));
        let h = ld(p.add(1168 + 32 * (i / 2)));
        let t = 2 * (i % 2);
        let lo = _mm256_or_si256(_mm256_and_si256(l, m0f), bits2_to_4(h, t));
        let hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16::<4>(l), m0f), bits2_to_4(h, t + 1));
        (lo, hi)
    }
}

/// Sub-block `s`'s (`0..16`, 16 elements) scale of a Q6_K super-block, as i16 pairs per row.
#[inline(always)]
unsafe fn scale_q6k(p: *const u8, s: usize) -> __m256i {
    // SAFETY: see above.
    unsafe { dup_rows(_mm_cvtepi8_epi16(_mm_loadl_epi64(p.add(16 + 8 * s).cast()))) }
}

/// Min register `k` (`0..8`) of a Q6_K super-block: `32 * scale` of sub-blocks `2k`, `2k + 1` of each row
/// (the offset of its `q + 32` values), i16 lanes `2r`, `2r + 1`.
#[inline(always)]
pub(crate) unsafe fn mins_q6k(p: *const u8, k: usize) -> __m256i {
    // SAFETY: see above.
    unsafe {
        let a = _mm_cvtepi8_epi16(_mm_loadl_epi64(p.add(16 + 16 * k).cast()));
        let b = _mm_cvtepi8_epi16(_mm_loadl_epi64(p.add(24 + 16 * k).cast()));
        _mm256_slli_epi16::<5>(_mm256_set_m128i(_mm_unpackhi_epi16(a, b), _mm_unpacklo_epi16(a, b)))
    }
}

/// # Safety
/// `p` must point to a packed block of `ty` and `o` to `PANEL32` writable bytes.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn unpack32(ty: WeightType, p: *const u8, o: *mut u8) {
    // SAFETY: the caller guarantees the block sizes; offsets follow `layout`.
    unsafe {
        _mm_storeu_si128(o.cast(), _mm_loadu_si128(p.cast()));
        if ty == WeightType::Q8_0 {
            for g in 0..8 {
                st(o.add(16 + 32 * g), ld(p.add(16 + 32 * g)));
            }
            return;
        }
        for i in 0..4 {
            let (lo, hi) = quads32(ty == WeightType::Q5_0, p, i);
            st(o.add(16 + 64 * i), lo);
            st(o.add(48 + 64 * i), hi);
        }
    }
}

/// Eight bytes (one per row) widened to i16 and each repeated twice: lanes `2r, 2r+1` = row `r`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) fn dup_rows(v: __m128i) -> __m256i {
    _mm256_set_m128i(_mm_unpackhi_epi16(v, v), _mm_unpacklo_epi16(v, v))
}

/// # Safety
/// `p` must point to a packed Q4_K (or Q5_K, `q5`) block and `o` to `PANEL256` writable bytes.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn unpack_q45k(q5: bool, p: *const u8, o: *mut u8) {
    // SAFETY: the caller guarantees the block sizes; offsets follow `layout`.
    unsafe {
        for i in 0..32 {
            let (lo, hi) = quads_q45k(q5, p, i);
            st(o.add(64 * i), lo);
            st(o.add(64 * i + 32), hi);
        }
        for j in 0..8 {
            let (sc, m) = scale_min_q45k(p, j);
            st(o.add(PANEL256_SC + 64 * j), sc);
            st(o.add(PANEL256_SC + 64 * j + 32), sc);
            st(o.add(PANEL256_M + 32 * j), m);
        }
        _mm256_storeu_ps(o.add(PANEL256_D).cast(), _mm256_cvtph_ps(_mm_loadu_si128(p.cast())));
        _mm256_storeu_ps(o.add(PANEL256_DMIN).cast(), _mm256_cvtph_ps(_mm_loadu_si128(p.add(16).cast())));
    }
}

/// # Safety
/// `p` must point to a packed Q6_K block and `o` to `PANEL256` writable bytes.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn unpack_q6k(p: *const u8, o: *mut u8) {
    // SAFETY: the caller guarantees the block sizes; offsets follow `layout`.
    unsafe {
        for i in 0..32 {
            let (lo, hi) = quads_q6k(p, i);
            st(o.add(64 * i), lo);
            st(o.add(64 * i + 32), hi);
        }
        for s in 0..16 {
            st(o.add(PANEL256_SC + 32 * s), scale_q6k(p, s));
        }
        for k in 0..8 {
            st(o.add(PANEL256_M + 32 * k), mins_q6k(p, k));
        }
        let d = _mm256_cvtph_ps(_mm_loadu_si128(p.cast()));
        _mm256_storeu_ps(o.add(PANEL256_D).cast(), d);
        _mm256_storeu_ps(o.add(PANEL256_DMIN).cast(), d);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Products
// ---------------------------------------------------------------------------------------------------------------

/// Checks that activation rows `cols`, blocks `blk0..blk0 + nb` of `block` elements, are in `acts`.
pub(crate) fn check_acts(acts: &Acts, cols: &Range<usize>, blk0: usize, nb: usize, block: usize) {
    let nbk = acts.k / block;
    assert!(blk0 + nb <= nbk && cols.end <= acts.m);
    assert!(acts.q.len() >= acts.m * acts.k && acts.d.len() >= acts.m * nbk);
}

/// 32-element family: see `micro::tile32`.
#[target_feature(enable = "avx2,fma,f16c")]
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
    if offset_shift.is_some() {
        assert!(acts.sum.len() >= acts.m * (acts.k / 32));
    }
    let shift = offset_shift.unwrap_or(0) as i32;
    // SAFETY: the bounds were checked above (and this function's target features are enabled).
    unsafe {
        match (cols.len(), offset_shift.is_some()) {
            (4, true) => tile32_n::<4, false>(panel, nb, acts, cols.start, blk0, shift, acc),
            (3, true) => tile32_n::<3, false>(panel, nb, acts, cols.start, blk0, shift, acc),
            (2, true) => tile32_n::<2, false>(panel, nb, acts, cols.start, blk0, shift, acc),
            (1, true) => tile32_n::<1, false>(panel, nb, acts, cols.start, blk0, shift, acc),
            (4, false) => tile32_n::<4, true>(panel, nb, acts, cols.start, blk0, shift, acc),
            (3, false) => tile32_n::<3, true>(panel, nb, acts, cols.start, blk0, shift, acc),
            (2, false) => tile32_n::<2, true>(panel, nb, acts, cols.start, blk0, shift, acc),
            (1, false) => tile32_n::<1, true>(panel, nb, acts, cols.start, blk0, shift, acc),
            _ => {}
        }
    }
}

/// The end of one super-block in a K-quant tile (`tile256_n` here and in `avx512`): the mins against the
/// activations' 16-element sums, then the integer sums `ai` scaled into `accv`.
///
/// # Safety
/// `blk` points to a panel super-block and `ab` is a super-block of the activation rows `col0..col0 + N` (and
/// of their `bs` sums), all in bounds.
#[inline(always)]
pub(crate) unsafe fn tile256_finish<const N: usize, const SHARE: bool>(
    blk: *const u8,
    acts: &Acts,
    bs: &[*const i16; N],
    col0: usize,
    ab: usize,
    ai: &[__m256i; N],
    accv: &mut [__m256; N],
) {
    let nbk = acts.k / 256;
    // SAFETY: the caller guarantees the bounds; offsets follow `layout`.
    unsafe {
        let mut mi = [_mm256_setzero_si256(); N];
        for kk in 0..8 {
            let m = ld(blk.add(PANEL256_M + 32 * kk));
            for j in 0..N {
                let pair = _mm256_set1_epi32(std::ptr::read_unaligned(bs[j].add(ab * 16 + 2 * kk).cast()));
                mi[j] = _mm256_add_epi32(mi[j], _mm256_madd_epi16(m, pair));
            }
        }
        let d = _mm256_loadu_ps(blk.add(PANEL256_D).cast());
        let dmin = _mm256_loadu_ps(blk.add(PANEL256_DMIN).cast());
        for j in 0..N {
            let da = _mm256_set1_ps(*acts.d.get_unchecked((col0 + j) * nbk + ab));
            if SHARE {
                let isum = _mm256_cvtepi32_ps(_mm256_sub_epi32(ai[j], mi[j]));
                accv[j] = _mm256_fmadd_ps(isum, _mm256_mul_ps(d, da), accv[j]);
            } else {
                accv[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ai[j]), _mm256_mul_ps(d, da), accv[j]);
                accv[j] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mi[j]), _mm256_mul_ps(dmin, da), accv[j]);
            }
        }
    }
}

/// Four activation bytes at `p`, broadcast to every 32-bit lane.
///
/// # Safety
/// `p..p + 4` must be readable.
#[inline(always)]
unsafe fn bcast4(p: *const i8) -> __m256i {
    // SAFETY: the caller guarantees 4 readable bytes.
    unsafe { _mm256_set1_epi32(std::ptr::read_unaligned(p.cast::<i32>())) }
}

/// # Safety
/// Bounds as checked by `tile32`; AVX2, FMA and F16C available.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn tile32_n<const N: usize, const SIGNED: bool>(
    panel: &[u8],
    nb: usize,
    acts: &Acts,
    col0: usize,
    blk0: usize,
    shift: i32,
    acc: &mut [[f32; ROWS]],
) {
    let k = acts.k;
    let nbk = k / 32;
    let ones = _mm256_set1_epi16(1);
    // SAFETY: `acc` has at least N rows of eight f32.
    let mut accv: [__m256; N] = std::array::from_fn(|j| unsafe { _mm256_loadu_ps(acc[j].as_ptr()) });
    let aq: [*const i8; N] = std::array::from_fn(|j| acts.q[(col0 + j) * k..].as_ptr());
    for b in 0..nb {
        // SAFETY: panel block `b` and activation blocks `blk0 + b` of rows `col0..col0 + N` are in bounds
        // (checked by `tile32`).
        unsafe {
            let blk = panel.as_ptr().add(b * PANEL32);
            if N == 1 {
                // One activation row: a decoding step streams the weights (Q8_0's packed form is this panel).
                prefetch_ahead(blk, PANEL32);
            }
            let dw = _mm256_cvtph_ps(_mm_loadu_si128(blk.cast()));
            let q = blk.add(16);
            let ab = (blk0 + b) * 32;
            let mut s = [_mm256_setzero_si256(); N];
            if SIGNED {
                for g in 0..8 {
                    let w = ld(q.add(32 * g));
                    let aw = _mm256_abs_epi8(w);
                    for j in 0..N {
                        let a = bcast4(aq[j].add(ab + 4 * g));
                        let p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(a, w));
                        s[j] = _mm256_add_epi32(s[j], _mm256_madd_epi16(p, ones));
                    }
                }
            } else {
                for half in 0..2 {
                    let mut t = [_mm256_setzero_si256(); N];
                    for g in 4 * half..4 * half + 4 {
                        let w = ld(q.add(32 * g));
                        for j in 0..N {
                            let a = bcast4(aq[j].add(ab + 4 * g));
                            t[j] = _mm256_add_epi16(t[j], _mm256_maddubs_epi16(w, a));
                        }
                    }
                    for j in 0..N {
                        s[j] = _mm256_add_epi32(s[j], _mm256_madd_epi16(t[j], ones));
                    }
                }
                for (j, sj) in s.iter_mut().enumerate() {
                    let corr = *acts.sum.get_unchecked((col0 + j) * nbk + blk0 + b) << shift;
                    *sj = _mm256_sub_epi32(*sj, _mm256_set1_epi32(corr));
                }
            }
            for j in 0..N {
                let da = _mm256_set1_ps(*acts.d.get_unchecked((col0 + j) * nbk + blk0 + b));
                accv[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[j]), _mm256_mul_ps(dw, da), accv[j]);
            }
        }
    }
    for j in 0..N {
        // SAFETY: `acc` has at least N rows of eight f32.
        unsafe { _mm256_storeu_ps(acc[j].as_mut_ptr(), accv[j]) };
    }
}

/// K-quant family: see `micro::tile256`.
#[target_feature(enable = "avx2,fma,f16c")]
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
/// Bounds as checked by `tile256`; AVX2, FMA and F16C available.
#[target_feature(enable = "avx2,fma,f16c")]
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
    // SAFETY: `acc` has at least N rows of eight f32.
    let mut accv: [__m256; N] = std::array::from_fn(|j| unsafe { _mm256_loadu_ps(acc[j].as_ptr()) });
    let aq: [*const i8; N] = std::array::from_fn(|j| acts.q[(col0 + j) * k..].as_ptr());
    let bs: [*const i16; N] = std::array::from_fn(|j| acts.bsums[(col0 + j) * nbk * 16..].as_ptr());
    for b in 0..nb {
        // SAFETY: panel super-block `b` and activation super-blocks `blk0 + b` of rows `col0..col0 + N` are in
        // bounds (checked by `tile256`).
        unsafe {
            let blk = panel.as_ptr().add(b * PANEL256);
            let ab = (blk0 + b) * 256;
            let mut ai = [_mm256_setzero_si256(); N];
            for s in 0..16 {
                let sc = ld(blk.add(PANEL256_SC + 32 * s));
                for h in 0..2 {
                    let g0 = 4 * s + 2 * h;
                    let w0 = ld(blk.add(32 * g0));
                    let w1 = ld(blk.add(32 * g0 + 32));
                    for j in 0..N {
                        let a0 = bcast4(aq[j].add(ab + 4 * g0));
                        let a1 = bcast4(aq[j].add(ab + 4 * g0 + 4));
                        let t = _mm256_add_epi16(_mm256_maddubs_epi16(w0, a0), _mm256_maddubs_epi16(w1, a1));
                        ai[j] = _mm256_add_epi32(ai[j], _mm256_madd_epi16(t, sc));
                    }
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

// ---------------------------------------------------------------------------------------------------------------
// One activation row straight from packed blocks
// ---------------------------------------------------------------------------------------------------------------

/// How far ahead of its reads a decoding kernel asks for the weights: decoding streams each weight once, and the
/// hardware prefetcher alone left it well short of the memory's speed (a 1.5B Q4_K_M model decoded 14 tokens/s
/// on one core with it, 23 with this; llama.cpp 22). Into L2: asking for L1 (`T0`) made it slower.
pub(crate) const PREFETCH_AHEAD: usize = 8192;

/// Asks for the `len` bytes [`PREFETCH_AHEAD`] past `p` (a hint: past the data's end it reads nothing).
#[inline(always)]
pub(crate) fn prefetch_ahead(p: *const u8, len: usize) {
    let ahead = p.wrapping_add(PREFETCH_AHEAD);
    let mut off = 0;
    while off < len {
        // SAFETY: a prefetch only hints; it never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T1>(ahead.wrapping_add(off).cast()) };
        off += 64;
    }
}

/// `tile32` for one activation row (`col`) of Q4_0 or Q5_0 reading the packed blocks directly: decoding uses
/// each block once, so unpacking it into a panel first only adds a store and a load per byte. Gives exactly what
/// `unpack` + `tile32` give (the same integer sums, the same float operations).
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) fn direct32(
    ty: WeightType,
    packed: &[u8],
    nb: usize,
    acts: &Acts,
    col: usize,
    blk0: usize,
    acc: &mut [f32; ROWS],
) {
    assert!(matches!(ty, WeightType::Q4_0 | WeightType::Q5_0));
    let pb = ty.packed_bytes();
    assert!(packed.len() >= nb * pb);
    check_acts(acts, &(col..col + 1), blk0, nb, 32);
    let nbk = acts.k / 32;
    assert!(acts.sum.len() >= acts.m * nbk);
    let shift = ty.offset_shift().unwrap_or(0);
    let q5 = ty == WeightType::Q5_0;
    let ones = _mm256_set1_epi16(1);
    let a = acts.q[col * acts.k..].as_ptr();
    // SAFETY: `acc` holds eight f32.
    let mut accv = unsafe { _mm256_loadu_ps(acc.as_ptr()) };
    for b in 0..nb {
        // SAFETY: packed block `b` (`pb` bytes) and activation block `blk0 + b` of row `col` are in bounds
        // (checked above); offsets follow `layout`.
        unsafe {
            let p = packed.as_ptr().add(b * pb);
            prefetch_ahead(p, pb);
            let dw = _mm256_cvtph_ps(_mm_loadu_si128(p.cast()));
            let ab = (blk0 + b) * 32;
            let mut s = _mm256_setzero_si256();
            for half in 0..2 {
                let mut t = _mm256_setzero_si256();
                for i in 2 * half..2 * half + 2 {
                    let (lo, hi) = quads32(q5, p, i);
                    t = _mm256_add_epi16(t, quad_pair(lo, hi, a.add(ab + 8 * i)));
                }
                s = _mm256_add_epi32(s, _mm256_madd_epi16(t, ones));
            }
            let corr = *acts.sum.get_unchecked(col * nbk + blk0 + b) << shift;
            s = _mm256_sub_epi32(s, _mm256_set1_epi32(corr));
            let da = _mm256_set1_ps(*acts.d.get_unchecked(col * nbk + blk0 + b));
            accv = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dw, da), accv);
        }
    }
    // SAFETY: `acc` holds eight f32.
    unsafe { _mm256_storeu_ps(acc.as_mut_ptr(), accv) };
}

/// Two quads of weights (`w0`, `w1`) times the eight activation bytes at `a`, summed in i16 pairs as the tile
/// kernels sum them.
///
/// # Safety
/// `a..a + 8` must be readable; AVX2 available.
#[inline(always)]
unsafe fn quad_pair(w0: __m256i, w1: __m256i, a: *const i8) -> __m256i {
    // SAFETY: the caller guarantees the bytes and the target features.
    unsafe { _mm256_add_epi16(_mm256_maddubs_epi16(w0, bcast4(a)), _mm256_maddubs_epi16(w1, bcast4(a.add(4)))) }
}

/// `tile256` for one activation row (`col`) of a K-quant, reading the packed blocks directly (see `direct32`);
/// the scales and mins are widened in registers where `unpack` would store them. The same integer sums and
/// float operations as `unpack` + `tile256`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) fn direct256(
    ty: WeightType,
    packed: &[u8],
    nb: usize,
    acts: &Acts,
    col: usize,
    blk0: usize,
    acc: &mut [f32; ROWS],
) {
    assert!(ty.is_k());
    let pb = ty.packed_bytes();
    assert!(packed.len() >= nb * pb);
    check_acts(acts, &(col..col + 1), blk0, nb, 256);
    let nbk = acts.k / 256;
    assert!(acts.bsums.len() >= acts.m * nbk * 16);
    let a = acts.q[col * acts.k..].as_ptr();
    let bs = acts.bsums[col * nbk * 16..].as_ptr();
    // SAFETY: `acc` holds eight f32.
    let mut accv = unsafe { _mm256_loadu_ps(acc.as_ptr()) };
    for b in 0..nb {
        // SAFETY: packed super-block `b` (`pb` bytes) and activation super-block `blk0 + b` of row `col` are in
        // bounds (checked above); offsets follow `layout`.
        unsafe {
            let p = packed.as_ptr().add(b * pb);
            prefetch_ahead(p, pb);
            let ab = (blk0 + b) * 256;
            // Bsums of the 16-element sub-blocks `2k` and `2k + 1`, against min register `k`.
            let sums = |k: usize| _mm256_set1_epi32(std::ptr::read_unaligned(bs.add((blk0 + b) * 16 + 2 * k).cast()));
            let mut ai = _mm256_setzero_si256();
            let mut mi = _mm256_setzero_si256();
            let da = _mm256_set1_ps(*acts.d.get_unchecked(col * nbk + blk0 + b));
            let d = _mm256_cvtph_ps(_mm_loadu_si128(p.cast()));
            if ty == WeightType::Q6_K {
                for s in 0..16 {
                    let sc = scale_q6k(p, s);
                    for i in 2 * s..2 * s + 2 {
                        let (w0, w1) = quads_q6k(p, i);
                        ai = _mm256_add_epi32(ai, _mm256_madd_epi16(quad_pair(w0, w1, a.add(ab + 8 * i)), sc));
                    }
                }
                for k in 0..8 {
                    mi = _mm256_add_epi32(mi, _mm256_madd_epi16(mins_q6k(p, k), sums(k)));
                }
                let isum = _mm256_cvtepi32_ps(_mm256_sub_epi32(ai, mi));
                accv = _mm256_fmadd_ps(isum, _mm256_mul_ps(d, da), accv);
            } else {
                let q5 = ty == WeightType::Q5_K;
                for j in 0..8 {
                    let (sc, m) = scale_min_q45k(p, j);
                    for i in 4 * j..4 * j + 4 {
                        let (w0, w1) = quads_q45k(q5, p, i);
                        ai = _mm256_add_epi32(ai, _mm256_madd_epi16(quad_pair(w0, w1, a.add(ab + 8 * i)), sc));
                    }
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
