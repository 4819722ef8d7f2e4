//! Picking the next token from a logits vector, the way llama.cpp's default sampler chain does.
//!
//! The chain (llama.cpp `common/sampling.cpp` default order, restricted to the knobs [`SamplingParams`] has;
//! rules from `src/llama-sampling.cpp`):
//!
//! 1. **penalties** over the last `repeat_last_n` accepted tokens: a token seen `c > 0` times gets
//!    `logit <= 0 ? logit * repeat_penalty : logit / repeat_penalty`, then
//!    `logit -= c * frequency_penalty + presence_penalty` (see [`penalize`]);
//! 2. **top-k**: keep the `top_k` highest logits (`0`, or `>= vocab`: keep all);
//! 3. **top-p**: softmax (at temperature 1) over what is left; keep the smallest highest-first prefix whose
//!    probability sums to `>= top_p` (`>= 1`: off);
//! 4. **min-p**: keep tokens with `logit >= max_logit + ln(min_p)`, i.e. `p >= min_p * p_max` at temperature
//!    1 (`<= 0`: off);
//! 5. **temperature** and 6. **dist**: draw from `softmax(logit / temperature)` over what is left, with a
//!    seeded ChaCha20 RNG (one uniform `f64` per draw; none when a single token is left).
//!
//! `temperature <= 0` (or NaN) is greedy: the argmax after penalties. That is exactly what llama.cpp's chain
//! gives, because top-k/top-p/min-p always keep the most likely token and its temperature step then masks
//! everything else; ties go to the lowest token id (llama.cpp's greedy sampler uses a strict `>` scan too).
//!
//! Speed matters on 256k-entry vocabularies, so nothing sorts the whole vocabulary when `top_k` is set: a single
//! streaming pass keeps a small buffer of candidates above a rising threshold (O(vocab) compares, O(k log k)
//! sorting); without `top_k`, top-p finds its nucleus with a logit histogram and sorts only the boundary
//! bucket. All buffers live in the sampler and are reused, so a call allocates nothing once warmed up.
//!
//! Non-finite logits never panic: NaN counts as `-inf` (never picked), `+inf` tokens share all the
//! probability, and if nothing is above `-inf` the pick is token `0`.

use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::inference::types::SamplingParams;

/// Lanes of the chunked scans; wide enough for the compiler to vectorise the compares.
const LANES: usize = 16;
/// Up to this many candidates, top-p simply sorts them.
const TOP_P_SORT_MAX: usize = 1024;
/// Logit buckets of the O(n) top-p on larger candidate sets (see [`top_p`]).
const TOP_P_BUCKETS: usize = 4096;
/// The buckets span at most this far below the best logit; everything lower shares the last one (a token 64
/// below the best has relative probability e^-64, so the nucleus practically never reaches it).
const TOP_P_SPAN: f32 = 64.0;

/// One surviving token: its id, its (possibly penalised / scaled) logit and, while probabilities are being
/// computed, its unnormalised weight.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    id: u32,
    logit: f32,
    weight: f32,
}

/// Highest logit first, lowest id first among equal logits. Candidates never hold NaN, so `partial_cmp`
/// is total here (and, unlike `total_cmp`, treats `-0.0 == 0.0` like the `>` scans do).
fn by_rank(a: &Candidate, b: &Candidate) -> Ordering {
    b.logit.partial_cmp(&a.logit).unwrap_or(Ordering::Equal).then(a.id.cmp(&b.id))
}

/// llama.cpp's repetition, frequency and presence penalties for one token seen `count` times in the window.
///
/// `count == 0` leaves the logit alone. Otherwise the repeat penalty divides a positive logit and multiplies
/// a non-positive one (the CTRL paper only divided, which would make negative logits *more* likely), then
/// `count * frequency + presence` is subtracted (OpenAI's definition).
pub fn penalize(logit: f32, count: u32, repeat_penalty: f32, frequency_penalty: f32, presence_penalty: f32) -> f32 {
    if count == 0 {
        return logit;
    }
    let repeated = if logit <= 0.0 { logit * repeat_penalty } else { logit / repeat_penalty };
    repeated - (count as f32 * frequency_penalty + presence_penalty)
}

/// The argmax of `logits`, lowest id on ties; NaN never wins; `0` when nothing is above `-inf`.
///
/// Chunks with nothing above the best so far (nearly all of them) cost one vectorised compare each.
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = f32::NEG_INFINITY;
    let mut best_id = 0usize;
    let chunks = logits.chunks_exact(LANES);
    let tail_start = logits.len() - chunks.remainder().len();
    for (c, chunk) in chunks.enumerate() {
        let b = best;
        if !chunk.iter().fold(false, |any, &x| any | (x > b)) {
            continue;
        }
        for (j, &x) in chunk.iter().enumerate() {
            if x > best {
                best = x;
                best_id = c * LANES + j;
            }
        }
    }
    for (j, &x) in logits[tail_start..].iter().enumerate() {
        if x > best {
            best = x;
            best_id = tail_start + j;
        }
    }
    best_id as u32
}

/// The last `repeat_last_n` accepted tokens and how often each occurs among them (llama.cpp's ring buffer
/// plus count map), so applying the penalties costs O(distinct tokens in the window), not O(vocab).
#[derive(Debug, Clone)]
struct PenaltyWindow {
    last_n: usize,
    tokens: VecDeque<u32>,
    counts: HashMap<u32, u32>,
}

impl PenaltyWindow {
    fn new(last_n: usize) -> Self {
        // `repeat_last_n` may be huge ("the whole context"): grow on demand rather than reserve it.
        let reserve = last_n.min(4096);
        PenaltyWindow { last_n, tokens: VecDeque::with_capacity(reserve), counts: HashMap::with_capacity(reserve) }
    }

    fn accept(&mut self, token: u32) {
        if self.last_n == 0 {
            return;
        }
        let evicted = if self.tokens.len() >= self.last_n { self.tokens.pop_front() } else { None };
        if let Some(old) = evicted {
            match self.counts.get_mut(&old) {
                Some(c) if *c > 1 => *c -= 1,
                Some(_) => {
                    self.counts.remove(&old);
                }
                None => {}
            }
        }
        self.tokens.push_back(token);
        *self.counts.entry(token).or_insert(0) += 1;
    }

    fn clear(&mut self) {
        self.tokens.clear();
        self.counts.clear();
    }
}

/// Samples tokens from logits with llama.cpp's default chain (see the module docs).
///
/// Usage per request: [`Sampler::new`], then [`accept`](Sampler::accept) every prompt token (llama.cpp's server
/// does the same, so the penalty window starts out holding the end of the prompt), then per step
/// [`sample`](Sampler::sample) and [`accept`](Sampler::accept) the token actually appended. `sample` does not
/// record its pick itself because the engine may replace it (e.g. forcing an end-of-turn token).
#[derive(Debug, Clone)]
pub struct Sampler {
    params: SamplingParams,
    rng: ChaCha20Rng,
    window: PenaltyWindow,
    /// Reused between calls so that sampling allocates nothing once warmed up.
    candidates: Vec<Candidate>,
    /// Per-bucket probability mass for top-p on large candidate sets, reused likewise.
    buckets: Vec<f64>,
}

impl Sampler {
    /// A sampler for `params`; reproducible when `params.seed` is set, seeded from the OS otherwise.
    pub fn new(params: &SamplingParams) -> Self {
        Sampler {
            params: params.clone(),
            rng: make_rng(params.seed),
            window: PenaltyWindow::new(params.repeat_last_n),
            candidates: Vec::new(),
            buckets: Vec::new(),
        }
    }

    /// Always the most likely token, no penalties ([`SamplingParams::greedy`]); never consumes randomness.
    pub fn greedy() -> Self {
        Sampler::new(&SamplingParams { seed: Some(0), ..SamplingParams::greedy() })
    }

    /// The parameters this sampler was made with.
    pub fn params(&self) -> &SamplingParams {
        &self.params
    }

    /// Records a token in the penalty window: every prompt token, then every generated token.
    pub fn accept(&mut self, token: u32) {
        self.window.accept(token);
    }

    /// [`accept`](Sampler::accept)s each token in order (only the last `repeat_last_n` matter).
    pub fn accept_all(&mut self, tokens: &[u32]) {
        let skip = tokens.len().saturating_sub(self.window.last_n);
        for &t in &tokens[skip..] {
            self.window.accept(t);
        }
    }

    /// Back to the state [`Sampler::new`] left: empty penalty window, RNG re-seeded from `seed` (or fresh OS
    /// entropy when there is none), like llama.cpp's `llama_sampler_reset`.
    pub fn reset(&mut self) {
        self.window.clear();
        self.rng = make_rng(self.params.seed);
    }

    /// Picks the next token.
    ///
    /// The penalties are applied to `logits` in place (the rest of the chain works on a copy of the survivors).
    /// NaN logits count as `-inf` and are never picked; `+inf` logits share all the probability. If no logit is
    /// above `-inf` (or `logits` is empty) the answer is token `0`: a model that produced no usable
    /// distribution gets a deterministic, obviously-wrong-but-harmless pick instead of a panic.
    pub fn sample(&mut self, logits: &mut [f32]) -> u32 {
        if logits.is_empty() {
            return 0;
        }
        self.apply_penalties(logits);

        let temperature = self.params.temperature;
        if temperature.is_nan() || temperature <= 0.0 {
            return argmax(logits);
        }

        let top_k = self.params.top_k;
        let mut sorted = if top_k > 0 && top_k < logits.len() {
            select_top_k(logits, top_k, &mut self.candidates);
            true
        } else {
            collect_finite(logits, &mut self.candidates);
            false
        };
        if self.candidates.is_empty() {
            return 0;
        }

        top_p(&mut self.candidates, &mut sorted, self.params.top_p, &mut self.buckets);
        min_p(&mut self.candidates, sorted, self.params.min_p);
        draw(&mut self.candidates, temperature, &mut self.rng)
    }

    fn apply_penalties(&self, logits: &mut [f32]) {
        let p = &self.params;
        if p.repeat_penalty == 1.0 && p.frequency_penalty == 0.0 && p.presence_penalty == 0.0 {
            return;
        }
        for (&token, &count) in &self.window.counts {
            if let Some(logit) = logits.get_mut(token as usize) {
                *logit = penalize(*logit, count, p.repeat_penalty, p.frequency_penalty, p.presence_penalty);
            }
        }
    }
}

fn make_rng(seed: Option<u64>) -> ChaCha20Rng {
    match seed {
        Some(seed) => ChaCha20Rng::seed_from_u64(seed),
        None => ChaCha20Rng::try_from_os_rng().unwrap_or_else(|_| {
            // No OS entropy (very unusual): fall back to the clock, as llama.cpp does.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or_default();
            ChaCha20Rng::seed_from_u64(nanos)
        }),
    }
}

/// The `k` best tokens (by [`by_rank`]), sorted, into `out`.
///
/// One pass: tokens above the running threshold go into a buffer of up to `2k + 64`; when it fills, a linear
/// selection keeps the best `k` and the threshold rises to the k-th logit. A later token equal to the threshold
/// is rightly skipped: it has a higher id than the kept ones it ties with. Chunks with nothing above the
/// threshold (nearly all of them once it has risen) cost one vectorised compare each.
fn select_top_k(logits: &[f32], k: usize, out: &mut Vec<Candidate>) {
    out.clear();
    let cap = 2 * k + 64;
    let mut threshold = f32::NEG_INFINITY;
    let push = |out: &mut Vec<Candidate>, threshold: &mut f32, id: usize, logit: f32| {
        out.push(Candidate { id: id as u32, logit, weight: 0.0 });
        if out.len() >= cap {
            out.select_nth_unstable_by(k - 1, by_rank);
            out.truncate(k);
            *threshold = out[k - 1].logit;
        }
    };
    let chunks = logits.chunks_exact(LANES);
    let tail_start = logits.len() - chunks.remainder().len();
    for (c, chunk) in chunks.enumerate() {
        let t = threshold;
        if !chunk.iter().fold(false, |any, &x| any | (x > t)) {
            continue;
        }
        for (j, &x) in chunk.iter().enumerate() {
            if x > threshold {
                push(out, &mut threshold, c * LANES + j, x);
            }
        }
    }
    for (j, &x) in logits[tail_start..].iter().enumerate() {
        if x > threshold {
            push(out, &mut threshold, tail_start + j, x);
        }
    }
    if out.len() > k {
        out.select_nth_unstable_by(k - 1, by_rank);
        out.truncate(k);
    }
    out.sort_unstable_by(by_rank);
}

/// Every token with a logit above `-inf` (NaN excluded), in id order.
fn collect_finite(logits: &[f32], out: &mut Vec<Candidate>) {
    out.clear();
    out.reserve(logits.len());
    for (id, &logit) in logits.iter().enumerate() {
        if logit > f32::NEG_INFINITY {
            out.push(Candidate { id: id as u32, logit, weight: 0.0 });
        }
    }
}

/// Fills each candidate's `weight` with `exp(logit - max)`; returns their sum (in f64, so that hundreds of
/// thousands of tiny weights add up accurately) and `max`. With `+inf` logits present, those share the mass.
fn softmax_weights(candidates: &mut [Candidate], sorted: bool) -> (f64, f32) {
    let max = if sorted {
        candidates.first().map_or(f32::NEG_INFINITY, |c| c.logit)
    } else {
        candidates.iter().fold(f32::NEG_INFINITY, |m, c| if c.logit > m { c.logit } else { m })
    };
    let mut sum = 0.0f64;
    if max == f32::INFINITY {
        for c in candidates.iter_mut() {
            c.weight = if c.logit == f32::INFINITY { 1.0 } else { 0.0 };
            sum += f64::from(c.weight);
        }
    } else {
        for c in candidates.iter_mut() {
            c.weight = (c.logit - max).exp();
            sum += f64::from(c.weight);
        }
    }
    (sum, max)
}

/// Nucleus sampling: the smallest best-first prefix with probability `>= p` (computed at temperature 1 over
/// the current candidates, as llama.cpp does).
///
/// Sorted input (after top-k) is walked; up to [`TOP_P_SORT_MAX`] candidates are sorted first. Larger sets (no
/// top-k on a big vocabulary) would cost milliseconds to sort, so instead: bucket the logits below the max into
/// [`TOP_P_BUCKETS`] equal-width buckets (monotone in rank) and add up each bucket's mass, find the bucket
/// where the running mass reaches `p`, keep every bucket above it, and sort only that boundary bucket to find
/// the exact cut. Two linear passes; the result is the same set as the sorted walk (up to summation order)
/// but left unsorted.
fn top_p(candidates: &mut Vec<Candidate>, sorted: &mut bool, p: f32, buckets: &mut Vec<f64>) {
    if p.is_nan() || p >= 1.0 || candidates.len() <= 1 {
        return;
    }
    let (sum, max) = softmax_weights(candidates, *sorted);
    let target = f64::from(p) * sum;
    let mut cumulative = 0.0f64;
    if !*sorted {
        let min = candidates.iter().fold(f32::INFINITY, |m, c| if c.logit < m { c.logit } else { m });
        let span = (max - min).min(TOP_P_SPAN);
        if candidates.len() > TOP_P_SORT_MAX && span.is_finite() && span > 0.0 {
            let kept = bucketed_top_p(candidates, max, span, target, buckets);
            candidates.truncate(kept);
            return;
        }
        candidates.sort_unstable_by(by_rank);
        *sorted = true;
    }
    let keep = prefix_reaching(candidates, &mut cumulative, target).unwrap_or(candidates.len());
    candidates.truncate(keep);
}

/// The bucketed part of [`top_p`]: reorders `candidates` so that the nucleus comes first; returns its size.
fn bucketed_top_p(candidates: &mut [Candidate], max: f32, span: f32, target: f64, buckets: &mut Vec<f64>) -> usize {
    let scale = (TOP_P_BUCKETS - 1) as f32 / span;
    // Bucket 0 holds the highest logits; `as usize` saturates, `min` clamps the far tail into the last bucket.
    let bucket = |logit: f32| (((max - logit) * scale) as usize).min(TOP_P_BUCKETS - 1);
    buckets.clear();
    buckets.resize(TOP_P_BUCKETS, 0.0);
    for c in candidates.iter() {
        buckets[bucket(c.logit)] += f64::from(c.weight);
    }
    let mut above = 0.0f64; // mass of the buckets above the boundary
    let mut boundary = None;
    for (b, &mass) in buckets.iter().enumerate() {
        if above + mass >= target {
            boundary = Some(b);
            break;
        }
        above += mass;
    }
    let Some(boundary) = boundary else {
        // Rounding kept the total just short of `p * sum`: keep everything.
        return candidates.len();
    };
    // Buckets above the boundary to the front, then the boundary bucket; the rest is dropped.
    let mut kept = 0;
    for i in 0..candidates.len() {
        if bucket(candidates[i].logit) < boundary {
            candidates.swap(i, kept);
            kept += 1;
        }
    }
    let mut edge_end = kept;
    for i in kept..candidates.len() {
        if bucket(candidates[i].logit) == boundary {
            candidates.swap(i, edge_end);
            edge_end += 1;
        }
    }
    let edge = &mut candidates[kept..edge_end];
    edge.sort_unstable_by(by_rank);
    let mut cumulative = above;
    kept + prefix_reaching(edge, &mut cumulative, target).unwrap_or(edge.len())
}

/// Adds up weights in order; the length of the first prefix whose total (plus `cumulative`) reaches `target`.
fn prefix_reaching(candidates: &[Candidate], cumulative: &mut f64, target: f64) -> Option<usize> {
    candidates
        .iter()
        .position(|c| {
            *cumulative += f64::from(c.weight);
            *cumulative >= target
        })
        .map(|i| i + 1)
}

/// Keeps tokens whose probability is at least `p` times the best one's: `logit >= max + ln(p)`.
fn min_p(candidates: &mut Vec<Candidate>, sorted: bool, p: f32) {
    if p.is_nan() || p <= 0.0 || candidates.len() <= 1 {
        return;
    }
    let floor = p.min(1.0).ln();
    if sorted {
        let threshold = candidates[0].logit + floor;
        let keep = candidates.partition_point(|c| c.logit >= threshold).max(1);
        candidates.truncate(keep);
    } else {
        let max = candidates.iter().fold(f32::NEG_INFINITY, |m, c| if c.logit > m { c.logit } else { m });
        let threshold = max + floor;
        // The best token always satisfies `max >= max + ln(p)` (ln(p) <= 0), so this never empties the set.
        candidates.retain(|c| c.logit >= threshold);
    }
}

/// Draws one candidate with probability `softmax(logit / temperature)`.
///
/// The weights are `exp((logit - max) / temperature)`: the same distribution as dividing first, but the
/// exponent is never positive, so a tiny temperature cannot overflow to `inf` (it just tends to greedy) and an
/// infinite one gives every survivor the same weight.
fn draw(candidates: &mut [Candidate], temperature: f32, rng: &mut ChaCha20Rng) -> u32 {
    match candidates {
        [] => return 0,
        [only] => return only.id,
        _ => {}
    }
    let max = candidates.iter().fold(f32::NEG_INFINITY, |m, c| if c.logit > m { c.logit } else { m });
    let mut sum = 0.0f64;
    for c in candidates.iter_mut() {
        c.weight = if max == f32::INFINITY {
            // `+inf` logits share all the mass (and `inf - inf` must not become NaN).
            if c.logit == f32::INFINITY { 1.0 } else { 0.0 }
        } else {
            let w = ((c.logit - max) / temperature).exp();
            if w.is_nan() { 0.0 } else { w }
        };
        sum += f64::from(c.weight);
    }
    if sum <= 0.0 {
        return candidates[0].id;
    }
    let target = rng.random::<f64>() * sum;
    let mut cumulative = 0.0f64;
    let mut last_positive = candidates[0].id;
    for c in candidates.iter() {
        if c.weight > 0.0 {
            cumulative += f64::from(c.weight);
            last_positive = c.id;
            if cumulative > target {
                return c.id;
            }
        }
    }
    // Only reachable through rounding (target within an ulp of sum).
    last_positive
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(id: u32, logit: f32) -> Candidate {
        Candidate { id, logit, weight: 0.0 }
    }

    #[test]
    fn penalize_follows_llama_cpp() {
        // Not in the window: untouched.
        assert_eq!(penalize(2.0, 0, 2.0, 0.5, 0.25), 2.0);
        // Positive logits are divided, non-positive ones multiplied.
        assert_eq!(penalize(2.0, 1, 2.0, 0.0, 0.0), 1.0);
        assert_eq!(penalize(-2.0, 1, 2.0, 0.0, 0.0), -4.0);
        assert_eq!(penalize(0.0, 1, 2.0, 0.0, 0.0), 0.0);
        // Frequency scales with the count, presence does not.
        assert_eq!(penalize(1.0, 3, 1.0, 0.5, 0.25), 1.0 - 1.5 - 0.25);
        // Both, in order: repeat first, then the additive penalties.
        assert_eq!(penalize(3.0, 2, 1.5, 0.25, 1.0), 2.0 - 0.5 - 1.0);
        assert_eq!(penalize(-3.0, 2, 1.5, 0.25, 1.0), -4.5 - 0.5 - 1.0);
    }

    #[test]
    fn window_keeps_last_n_counts() {
        let mut w = PenaltyWindow::new(3);
        for t in [1, 2, 1, 3] {
            w.accept(t);
        }
        // Window is now [2, 1, 3].
        assert_eq!(w.counts.get(&1), Some(&1));
        assert_eq!(w.counts.get(&2), Some(&1));
        assert_eq!(w.counts.get(&3), Some(&1));
        w.accept(3);
        w.accept(3);
        // [3, 3, 3]
        assert_eq!(w.counts.len(), 1);
        assert_eq!(w.counts.get(&3), Some(&3));
        let mut off = PenaltyWindow::new(0);
        off.accept(5);
        assert!(off.counts.is_empty());
    }

    #[test]
    fn sampler_penalties_edit_logits_in_place() {
        let params = SamplingParams {
            temperature: 0.0,
            repeat_penalty: 2.0,
            frequency_penalty: 0.5,
            presence_penalty: 0.25,
            repeat_last_n: 4,
            seed: Some(1),
            ..SamplingParams::default()
        };
        let mut s = Sampler::new(&params);
        s.accept_all(&[9, 0, 0, 1, 1, 2]); // window [0, 1, 1, 2]; token 9 fell out
        let mut logits = vec![4.0, -1.0, 3.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0];
        let picked = s.sample(&mut logits);
        assert_eq!(logits[0], 4.0 / 2.0 - 0.5 - 0.25);
        assert_eq!(logits[1], -2.0 - (2.0 * 0.5 + 0.25));
        assert_eq!(logits[2], 3.0 / 2.0 - 0.5 - 0.25);
        assert_eq!(logits[3], 5.0);
        assert_eq!(logits[9], 7.0);
        assert_eq!(picked, 9);
    }

    #[test]
    fn argmax_ties_nan_and_empty() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[f32::NAN, 1.0, f32::NAN]), 1);
        assert_eq!(argmax(&[f32::NAN; 40]), 0);
        assert_eq!(argmax(&[f32::NEG_INFINITY; 3]), 0);
        assert_eq!(argmax(&[]), 0);
        let mut long = vec![0.0f32; 1000];
        long[777] = 1.0;
        long[780] = 1.0; // same 16-lane chunk
        long[999] = 1.0;
        assert_eq!(argmax(&long), 777);
        long[5] = f32::INFINITY;
        assert_eq!(argmax(&long), 5);
    }

    #[test]
    fn top_k_selection_matches_full_sort() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        for n in [1usize, 15, 16, 17, 100, 1000, 5000] {
            // Few distinct values so that ties are common.
            let logits: Vec<f32> = (0..n).map(|_| f32::from(rng.random_range(0u8..20))).collect();
            for k in [1usize, 2, 40, 100] {
                if k >= n {
                    continue;
                }
                let mut got = Vec::new();
                select_top_k(&logits, k, &mut got);
                let mut all: Vec<Candidate> = logits.iter().enumerate().map(|(i, &l)| cand(i as u32, l)).collect();
                all.sort_by(by_rank);
                let want: Vec<u32> = all[..k].iter().map(|c| c.id).collect();
                let got: Vec<u32> = got.iter().map(|c| c.id).collect();
                assert_eq!(got, want, "n={n} k={k}");
            }
        }
    }

    #[test]
    fn top_k_increasing_and_nan_inputs() {
        let increasing: Vec<f32> = (0..10_000).map(|i| i as f32).collect();
        let mut got = Vec::new();
        select_top_k(&increasing, 3, &mut got);
        assert_eq!(got.iter().map(|c| c.id).collect::<Vec<_>>(), vec![9999, 9998, 9997]);
        let mut nans = vec![f32::NAN; 100];
        nans[50] = -1.0;
        select_top_k(&nans, 5, &mut got);
        assert_eq!(got.iter().map(|c| c.id).collect::<Vec<_>>(), vec![50]);
    }

    #[test]
    fn bucketed_top_p_matches_sorted_top_p() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let mut buckets = Vec::new();
        for n in [10usize, 300, 5000, 100_000] {
            for coarse in [true, false] {
                // Coarse values make ties at the nucleus boundary common; a wide range exercises the tail bucket.
                let logits: Vec<f32> = (0..n)
                    .map(|_| {
                        if coarse {
                            f32::from(rng.random_range(0u8..30)) / 10.0
                        } else {
                            rng.random_range(-90.0f32..10.0)
                        }
                    })
                    .collect();
                for p in [0.0f32, 0.1, 0.5, 0.9, 0.99, 0.999_999] {
                    let mut unsorted = Vec::new();
                    collect_finite(&logits, &mut unsorted);
                    let mut sorted_flag = false;
                    top_p(&mut unsorted, &mut sorted_flag, p, &mut buckets);

                    let mut presorted = Vec::new();
                    collect_finite(&logits, &mut presorted);
                    presorted.sort_by(by_rank);
                    let mut flag = true;
                    top_p(&mut presorted, &mut flag, p, &mut buckets);
                    let mut a: Vec<u32> = unsorted.iter().map(|c| c.id).collect();
                    a.sort_unstable();
                    let mut b: Vec<u32> = presorted.iter().map(|c| c.id).collect();
                    b.sort_unstable();
                    assert_eq!(a, b, "n={n} coarse={coarse} p={p}");
                    if sorted_flag {
                        assert!(unsorted.windows(2).all(|w| by_rank(&w[0], &w[1]).is_lt()));
                    }
                }
            }
        }
    }

    #[test]
    fn min_p_sorted_and_unsorted_agree() {
        let logits = [0.0f32, -1.0, -2.0, -0.5, -3.0];
        // ln(0.3) ~= -1.204: keeps 0.0, -0.5, -1.0.
        let mut unsorted: Vec<Candidate> = logits.iter().enumerate().map(|(i, &l)| cand(i as u32, l)).collect();
        let mut sorted = unsorted.clone();
        sorted.sort_by(by_rank);
        min_p(&mut unsorted, false, 0.3);
        min_p(&mut sorted, true, 0.3);
        let mut a: Vec<u32> = unsorted.iter().map(|c| c.id).collect();
        a.sort_unstable();
        assert_eq!(a, vec![0, 1, 3]);
        assert_eq!(sorted.iter().map(|c| c.id).collect::<Vec<_>>(), vec![0, 3, 1]);
    }

    #[test]
    fn infinite_logits_share_the_mass() {
        let mut s = Sampler::new(&SamplingParams {
            temperature: 0.5,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            seed: Some(3),
            ..SamplingParams::default()
        });
        let mut seen = [0u32; 4];
        for _ in 0..1000 {
            let mut logits = [f32::INFINITY, 1.0, f32::INFINITY, f32::NAN];
            seen[s.sample(&mut logits) as usize] += 1;
        }
        assert_eq!(seen[1] + seen[3], 0);
        assert!(seen[0] > 400 && seen[2] > 400, "{seen:?}");
    }
}
