//! f32 vector products for attention over one new token, summed the way ggml's CPU backend sums them for the
//! reference runs (its f32 matrix products, llamafile's `sgemm`): eight lanes accumulated with fused
//! multiply-adds, lane `i` taking elements `i, i + 8, ...`, then the lanes added pairwise as
//! `((l4 + l0) + (l6 + l2)) + ((l5 + l1) + (l7 + l3))`. The small models turn last-bit differences here into
//! different greedy continuations at near-ties, so the order is kept; the portable code gives the same values
//! (`f32::mul_add` is the same single-rounding operation).

/// The eight lanes added in the order described above.
fn hsum(l: [f32; 8]) -> f32 {
    ((l[4] + l[0]) + (l[6] + l[2])) + ((l[5] + l[1]) + (l[7] + l[3]))
}

/// `a . b`; both have the same length, a multiple of 8.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert!(a.len() == b.len() && a.len().is_multiple_of(8), "dot of {} and {} values", a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    if super::Isa::detect() == super::Isa::Avx2 {
        // SAFETY: the CPU has AVX2 and FMA (`Isa::detect`); lengths checked above.
        return unsafe { dot_avx2(a, b) };
    }
    let mut lanes = [0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for i in 0..8 {
            lanes[i] = x[i].mul_add(y[i], lanes[i]);
        }
    }
    hsum(lanes)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = _mm256_setzero_ps();
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        // SAFETY: each chunk holds eight f32; unaligned loads.
        unsafe { acc = _mm256_fmadd_ps(_mm256_loadu_ps(x.as_ptr()), _mm256_loadu_ps(y.as_ptr()), acc) };
    }
    let mut lanes = [0f32; 8];
    // SAFETY: `lanes` holds eight f32.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc) };
    hsum(lanes)
}

/// `out[d] = sum over j of p[j] * rows[j][d]` for rows of `out.len()` values (a multiple of 8), each output
/// summed over `j` as [`dot`] sums: lane `(j0 + j) % 8`, where `j0` is the first row's index in the whole
/// sequence (so that a window starting mid-way sums like the full sequence with zeros before it).
pub fn weighted_sum(p: &[f32], rows: &[f32], j0: usize, out: &mut [f32]) {
    let d = out.len();
    assert!(
        d.is_multiple_of(8) && rows.len() == p.len() * d,
        "{} weights for {} values of rows of {d}",
        p.len(),
        rows.len()
    );
    let mut lanes = vec![0f32; 8 * d];
    accumulate(p, rows, j0, &mut lanes);
    for (i, o) in out.iter_mut().enumerate() {
        *o = hsum(std::array::from_fn(|l| lanes[l * d + i]));
    }
}

/// Row `l` of `lanes` (8 rows of a row's length) += `p[j] * rows[j]` for every `j` with `(j0 + j) % 8 == l`, with
/// fused multiply-adds.
fn accumulate(p: &[f32], rows: &[f32], j0: usize, lanes: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if super::Isa::detect() == super::Isa::Avx2 {
        // SAFETY: the CPU has AVX2 and FMA (`Isa::detect`); `weighted_sum` checked the lengths.
        unsafe { accumulate_avx2(p, rows, j0, lanes) };
        return;
    }
    let d = lanes.len() / 8;
    for (j, (&w, row)) in p.iter().zip(rows.chunks_exact(d)).enumerate() {
        let lane = &mut lanes[(j0 + j) % 8 * d..][..d];
        for (acc, &x) in lane.iter_mut().zip(row) {
            *acc = w.mul_add(x, *acc);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
fn accumulate_avx2(p: &[f32], rows: &[f32], j0: usize, lanes: &mut [f32]) {
    use std::arch::x86_64::*;
    let d = lanes.len() / 8;
    for (j, (&w, row)) in p.iter().zip(rows.chunks_exact(d)).enumerate() {
        let lane = &mut lanes[(j0 + j) % 8 * d..][..d];
        let wv = _mm256_set1_ps(w);
        for (acc, x) in lane.chunks_exact_mut(8).zip(row.chunks_exact(8)) {
            // SAFETY: both chunks hold eight f32; unaligned loads and store.
            unsafe {
                let v = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x.as_ptr()), _mm256_loadu_ps(acc.as_ptr()));
                _mm256_storeu_ps(acc.as_mut_ptr(), v);
            }
        }
    }
}

/// The sum of `x` in f64, eight values at a time (each group added as [`dot`]'s lanes, then widened) with
/// groups aligned to `j0` as in [`weighted_sum`]: ggml's softmax sums its exponentials this way.
pub fn sum_f64(x: &[f32], j0: usize) -> f64 {
    let mut sum = 0f64;
    let mut group = [0f32; 8];
    for (j, &v) in x.iter().enumerate() {
        let lane = (j0 + j) % 8;
        group[lane] = v;
        if lane == 7 || j + 1 == x.len() {
            sum += f64::from(hsum(group));
            group = [0f32; 8];
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| ((i as f32 + seed) * 0.618).sin() * (1.0 + i as f32 * 0.01)).collect()
    }

    #[test]
    fn dot_is_close_to_f64_and_simd_equals_portable() {
        for n in [8, 64, 256] {
            let (a, b) = (values(n, 1.0), values(n, 2.5));
            let exact: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
            let ours = dot(&a, &b);
            assert!((f64::from(ours) - exact).abs() < 1e-4, "{ours} vs {exact}");
            let mut lanes = [0f32; 8];
            for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
                for i in 0..8 {
                    lanes[i] = x[i].mul_add(y[i], lanes[i]);
                }
            }
            assert_eq!(ours.to_bits(), hsum(lanes).to_bits(), "n = {n}");
        }
    }

    #[test]
    fn weighted_sum_is_a_dot_per_output() {
        let d = 16;
        for (n, j0) in [(1, 0), (13, 0), (13, 5), (40, 3)] {
            let p = values(n, 0.3);
            let rows = values(n * d, 7.0);
            let mut out = vec![0f32; d];
            weighted_sum(&p, &rows, j0, &mut out);
            for (i, &o) in out.iter().enumerate() {
                // The same sum as a dot over j with `j0` zeros in front, padded to whole lanes.
                let pad = |f: &dyn Fn(usize) -> f32| -> Vec<f32> {
                    let len = (j0 + n).div_ceil(8) * 8;
                    (0..len).map(|j| if j >= j0 && j < j0 + n { f(j - j0) } else { 0.0 }).collect()
                };
                let column = pad(&|j| rows[j * d + i]);
                let weights = pad(&|j| p[j]);
                assert_eq!(o.to_bits(), dot(&weights, &column).to_bits(), "n={n} j0={j0} [{i}]");
            }
        }
    }

    #[test]
    fn sum_f64_groups_by_eight() {
        let x = values(21, 0.0);
        let exact: f64 = x.iter().map(|&v| f64::from(v)).sum();
        assert!((sum_f64(&x, 0) - exact).abs() < 1e-5);
        assert!((sum_f64(&x, 3) - exact).abs() < 1e-5);
    }
}
