//! Token sampling (llama.cpp's default chain), stop strings over streamed deltas, and incremental UTF-8
//! decoding of token bytes.

use jan_core::inference::SamplingParams;
use jan_core::inference::sampling::{Generation, IncrementalDecoder, Sampler, StopCheck, StopMatcher, penalize};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

// ---------------------------------------------------------------------------------------------------------
// Sampler
// ---------------------------------------------------------------------------------------------------------

/// No filtering, no penalties: the draw is exactly softmax(logits / temperature).
fn plain(temperature: f32, seed: u64) -> SamplingParams {
    SamplingParams {
        temperature,
        top_k: 0,
        top_p: 1.0,
        min_p: 0.0,
        repeat_penalty: 1.0,
        repeat_last_n: 64,
        frequency_penalty: 0.0,
        presence_penalty: 0.0,
        seed: Some(seed),
    }
}

/// How often each token comes out of `draws` samples of the same logits.
fn histogram(params: &SamplingParams, logits: &[f32], draws: usize) -> Vec<usize> {
    let mut sampler = Sampler::new(params);
    let mut counts = vec![0usize; logits.len()];
    let mut buf = logits.to_vec();
    for _ in 0..draws {
        buf.copy_from_slice(logits);
        counts[sampler.sample(&mut buf) as usize] += 1;
    }
    counts
}

fn softmax(logits: &[f32], temperature: f32) -> Vec<f64> {
    let scaled: Vec<f64> = logits.iter().map(|&l| f64::from(l) / f64::from(temperature)).collect();
    let max = scaled.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = scaled.iter().map(|&l| (l - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

/// Pearson's chi-square statistic of observed counts against expected probabilities (zero-probability
/// categories must be unobserved).
fn chi_square(counts: &[usize], probs: &[f64]) -> f64 {
    let n: usize = counts.iter().sum();
    counts
        .iter()
        .zip(probs)
        .map(|(&o, &p)| {
            if p == 0.0 {
                assert_eq!(o, 0, "a zero-probability token was drawn");
                0.0
            } else {
                let e = p * n as f64;
                (o as f64 - e).powi(2) / e
            }
        })
        .sum()
}

/// Logits whose softmax (at temperature 1) is exactly `probs`, up to float rounding.
fn logits_of(probs: &[f64]) -> Vec<f32> {
    probs.iter().map(|p| p.ln() as f32).collect()
}

fn support(counts: &[usize]) -> Vec<usize> {
    counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, _)| i).collect()
}

#[test]
fn greedy_picks_argmax() {
    let mut s = Sampler::greedy();
    assert_eq!(s.sample(&mut [0.1, 2.0, -3.0, 1.9]), 1);
    assert_eq!(s.sample(&mut [-5.0, -4.0, -6.0]), 1);
    // Ties go to the lowest id, as llama.cpp's strict `>` scan does.
    assert_eq!(s.sample(&mut [1.0, 3.0, 0.0, 3.0]), 1);
    // Zero temperature with the default filters is greedy too, and the same every time.
    let mut s = Sampler::new(&SamplingParams { temperature: 0.0, seed: None, ..Default::default() });
    let mut big: Vec<f32> = (0..262_144).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
    big[123_456] = 5.0;
    for _ in 0..5 {
        assert_eq!(s.sample(&mut big.clone()), 123_456);
    }
    // Negative temperature means greedy as well.
    let mut s = Sampler::new(&SamplingParams { temperature: -1.0, ..plain(1.0, 0) });
    assert_eq!(s.sample(&mut [0.0, 0.5, 0.4]), 1);
}

#[test]
fn greedy_applies_penalties_first() {
    let params = SamplingParams { repeat_penalty: 2.0, ..plain(0.0, 0) };
    let mut s = Sampler::new(&params);
    assert_eq!(s.sample(&mut [1.0, 3.0, 2.0]), 1);
    s.accept(1);
    // 3.0 / 2 = 1.5 < 2.0
    assert_eq!(s.sample(&mut [1.0, 3.0, 2.0]), 2);
    s.reset();
    assert_eq!(s.sample(&mut [1.0, 3.0, 2.0]), 1);
}

#[test]
fn same_seed_same_tokens() {
    let params = SamplingParams { seed: Some(1234), repeat_penalty: 1.1, frequency_penalty: 0.1, ..Default::default() };
    let run = |params: &SamplingParams| {
        let mut logits_rng = ChaCha8Rng::seed_from_u64(99);
        let mut s = Sampler::new(params);
        s.accept_all(&[5, 6, 7, 5]);
        (0..500)
            .map(|_| {
                let mut logits: Vec<f32> = (0..1000).map(|_| logits_rng.random_range(-2.0f32..2.0)).collect();
                let t = s.sample(&mut logits);
                s.accept(t);
                t
            })
            .collect::<Vec<u32>>()
    };
    let a = run(&params);
    assert_eq!(a, run(&params));
    let b = run(&SamplingParams { seed: Some(1235), ..params.clone() });
    let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!(differing > 250, "different seeds should give different tokens: {differing}/500 differ");
}

#[test]
fn reset_restarts_the_seeded_sequence() {
    let logits = [0.0f32, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7];
    let mut s = Sampler::new(&plain(1.0, 7));
    let first: Vec<u32> = (0..100).map(|_| s.sample(&mut logits.clone())).collect();
    s.reset();
    let again: Vec<u32> = (0..100).map(|_| s.sample(&mut logits.clone())).collect();
    assert_eq!(first, again);
    // Unseeded samplers still work (and are almost surely not all the same token).
    let mut s = Sampler::new(&SamplingParams { seed: None, ..plain(1.0, 0) });
    let picks: Vec<u32> = (0..100).map(|_| s.sample(&mut logits.clone())).collect();
    assert!(picks.iter().any(|&t| t != picks[0]));
}

#[test]
fn frequencies_match_softmax_over_temperature() {
    let logits = [2.0f32, 1.0, 0.5, 0.0, -1.0];
    // df = 4: P(chi2 > 18.47) = 0.001. The seed is fixed, so this is deterministic.
    for (temperature, seed) in [(1.0f32, 1u64), (0.7, 2), (1.8, 3)] {
        let counts = histogram(&plain(temperature, seed), &logits, 50_000);
        let chi2 = chi_square(&counts, &softmax(&logits, temperature));
        assert!(chi2 < 18.47, "T={temperature}: chi2 = {chi2}, counts {counts:?}");
    }
}

#[test]
fn top_k_restricts_support_exactly() {
    let logits = [1.0f32, 3.0, 0.5, 2.5, 2.4, -1.0];
    let params = SamplingParams { top_k: 2, ..plain(1.5, 5) };
    let counts = histogram(&params, &logits, 10_000);
    assert_eq!(support(&counts), vec![1, 3], "{counts:?}");
    // Within the top 2 the draw is softmax(logits / T) renormalised.
    let mut probs = vec![0.0; logits.len()];
    let kept = softmax(&[3.0, 2.5], 1.5);
    probs[1] = kept[0];
    probs[3] = kept[1];
    assert!(chi_square(&counts, &probs) < 10.83, "{counts:?}"); // df = 1, p = 0.001

    // top_k = 1 is greedy; top_k >= vocab keeps everything.
    assert_eq!(support(&histogram(&SamplingParams { top_k: 1, ..plain(1.0, 6) }, &logits, 1000)), vec![1]);
    let all = histogram(&SamplingParams { top_k: 100, ..plain(1.0, 7) }, &logits, 20_000);
    assert_eq!(support(&all), vec![0, 1, 2, 3, 4, 5]);
}

#[test]
fn top_k_on_a_large_vocabulary_keeps_the_true_top_k() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let logits: Vec<f32> = (0..262_144).map(|_| rng.random_range(-10.0f32..10.0)).collect();
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].partial_cmp(&logits[a]).unwrap());
    let top: std::collections::HashSet<usize> = order[..40].iter().copied().collect();
    let mut s = Sampler::new(&SamplingParams { top_k: 40, top_p: 1.0, min_p: 0.0, temperature: 5.0, ..plain(1.0, 9) });
    let mut seen = std::collections::HashSet::new();
    let mut buf = logits.clone();
    for _ in 0..400 {
        buf.copy_from_slice(&logits);
        let t = s.sample(&mut buf) as usize;
        assert!(top.contains(&t), "token {t} is not among the 40 best");
        seen.insert(t);
    }
    assert!(seen.len() > 30, "a hot temperature should reach most of the 40: {}", seen.len());
}

#[test]
fn top_p_keeps_the_smallest_nucleus() {
    let probs = [0.5, 0.3, 0.15, 0.05];
    let logits = logits_of(&probs);
    let nucleus = |p: f32| support(&histogram(&SamplingParams { top_p: p, ..plain(1.0, 11) }, &logits, 10_000));
    assert_eq!(nucleus(0.0), vec![0]);
    assert_eq!(nucleus(0.49), vec![0]);
    assert_eq!(nucleus(0.51), vec![0, 1]);
    assert_eq!(nucleus(0.79), vec![0, 1]);
    assert_eq!(nucleus(0.81), vec![0, 1, 2]);
    assert_eq!(nucleus(0.96), vec![0, 1, 2, 3]);

    // Inside the nucleus the probabilities are renormalised.
    let counts = histogram(&SamplingParams { top_p: 0.79, ..plain(1.0, 12) }, &logits, 40_000);
    assert!(chi_square(&counts, &[0.5 / 0.8, 0.3 / 0.8, 0.0, 0.0]) < 10.83, "{counts:?}");
}

#[test]
fn top_p_is_computed_before_temperature_on_a_large_unsorted_vocabulary() {
    // 5000 tokens, no top_k: the adaptive sort path. Token 0 holds 60% of the mass at temperature 1.
    let n = 5000;
    let rest = 0.4 / (n - 1) as f64;
    let mut probs = vec![rest; n];
    probs[0] = 0.6;
    let logits = logits_of(&probs);
    // top_p 0.55 keeps only token 0, whatever the (later) temperature does to the distribution.
    let params = SamplingParams { top_p: 0.55, ..plain(10.0, 13) };
    assert_eq!(support(&histogram(&params, &logits, 2000)), vec![0]);
    // top_p 0.6001 needs token 0 plus two of the (equal, 0.00008 each) others; ties go to the lowest ids.
    // A hot temperature afterwards makes the three about equally likely, so all of them show up.
    let params = SamplingParams { top_p: 0.6001, ..plain(1000.0, 14) };
    assert_eq!(support(&histogram(&params, &logits, 3000)), vec![0, 1, 2]);
}

#[test]
fn min_p_threshold() {
    let probs = [0.4, 0.2, 0.1, 0.05, 0.25];
    let logits = logits_of(&probs);
    let kept = |min_p: f32| support(&histogram(&SamplingParams { min_p, ..plain(1.0, 21) }, &logits, 10_000));
    // p >= min_p * 0.4
    assert_eq!(kept(0.7), vec![0]); // 0.28
    assert_eq!(kept(0.6), vec![0, 4]); // 0.24
    assert_eq!(kept(0.3), vec![0, 1, 4]); // 0.12
    assert_eq!(kept(0.2), vec![0, 1, 2, 4]); // 0.08
    assert_eq!(kept(0.1), vec![0, 1, 2, 3, 4]); // 0.04
    // The threshold is taken at temperature 1; a high temperature flattens only the survivors.
    let hot = histogram(&SamplingParams { min_p: 0.6, ..plain(100.0, 22) }, &logits, 20_000);
    assert_eq!(support(&hot), vec![0, 4]);
    assert!(chi_square(&hot, &[0.5, 0.0, 0.0, 0.0, 0.5]) < 10.83, "{hot:?}");
}

#[test]
fn chain_order_top_k_then_top_p_then_min_p() {
    // top_k = 3 keeps 0.4, 0.25, 0.2 (sum 0.85); renormalised: 0.47, 0.29, 0.24.
    // top_p = 0.7 over those keeps the first two (0.47 + 0.29 >= 0.7), although over the full distribution
    // 0.4 + 0.25 = 0.65 < 0.7 would have needed a third token.
    let probs = [0.4, 0.2, 0.1, 0.05, 0.25];
    let logits = logits_of(&probs);
    let params = SamplingParams { top_k: 3, top_p: 0.7, ..plain(1.0, 31) };
    assert_eq!(support(&histogram(&params, &logits, 10_000)), vec![0, 4]);
    let params = SamplingParams { top_k: 0, top_p: 0.7, ..plain(1.0, 32) };
    assert_eq!(support(&histogram(&params, &logits, 10_000)), vec![0, 1, 4]);
    // Then min_p on the nucleus: 0.25 < 0.7 * 0.4.
    let params = SamplingParams { top_k: 3, top_p: 0.7, min_p: 0.7, ..plain(1.0, 33) };
    assert_eq!(support(&histogram(&params, &logits, 10_000)), vec![0]);
}

#[test]
fn penalties_through_the_sampler() {
    let params = SamplingParams {
        repeat_penalty: 1.5,
        frequency_penalty: 0.2,
        presence_penalty: 0.3,
        repeat_last_n: 3,
        ..plain(0.0, 0)
    };
    let mut s = Sampler::new(&params);
    // The prompt is accepted too, as llama.cpp's server does; only the last 3 tokens count.
    s.accept_all(&[4, 0, 2, 2]);
    let mut logits = [3.0f32, -1.0, 2.0, 0.5, 1.0];
    s.sample(&mut logits);
    assert_eq!(logits, [penalize(3.0, 1, 1.5, 0.2, 0.3), -1.0, penalize(2.0, 2, 1.5, 0.2, 0.3), 0.5, 1.0]);
    assert_eq!(logits[0], 3.0 / 1.5 - (1.0 * 0.2 + 0.3));
    assert_eq!(logits[2], 2.0 / 1.5 - (2.0 * 0.2 + 0.3));
    // Exact rule for a negative logit: multiplied, then the same subtraction.
    assert_eq!(penalize(-1.0, 2, 1.5, 0.2, 0.3), -1.5 - (2.0 * 0.2 + 0.3));
    // Tokens outside the vocabulary are ignored.
    s.accept(1_000_000);
    s.sample(&mut [0.0, 1.0]);
    // repeat_last_n = 0 disables them entirely.
    let mut off = Sampler::new(&SamplingParams { repeat_last_n: 0, ..params });
    off.accept_all(&[0, 0, 0]);
    let mut logits = [3.0f32, 1.0];
    off.sample(&mut logits);
    assert_eq!(logits, [3.0, 1.0]);
}

#[test]
fn nan_and_infinite_logits_do_not_panic() {
    let configs = [
        SamplingParams { seed: Some(1), ..Default::default() },
        plain(1.0, 2),
        plain(0.0, 3),
        SamplingParams { top_k: 2, ..plain(0.5, 4) },
        SamplingParams { top_p: 0.5, ..plain(1e-30, 5) },
        SamplingParams { min_p: 0.5, ..plain(f32::INFINITY, 6) },
        SamplingParams { repeat_penalty: 0.0, frequency_penalty: f32::INFINITY, ..plain(1.0, 7) },
        SamplingParams { temperature: f32::NAN, top_p: f32::NAN, min_p: f32::NAN, ..plain(1.0, 8) },
    ];
    for params in &configs {
        let mut s = Sampler::new(params);
        s.accept_all(&[0, 1, 2]);
        // Everything unusable: token 0, by definition.
        assert_eq!(s.sample(&mut [f32::NAN; 5]), 0, "{params:?}");
        assert_eq!(s.sample(&mut [f32::NEG_INFINITY; 5]), 0, "{params:?}");
        assert_eq!(s.sample(&mut []), 0, "{params:?}");
        for _ in 0..50 {
            // NaN is never picked when something else is usable.
            let t = s.sample(&mut [f32::NAN, f32::NEG_INFINITY, 1.0, f32::NAN, 0.5]);
            assert!(t == 2 || t == 4, "{t} {params:?}");
            let t = s.sample(&mut [0.0, f32::INFINITY, f32::NAN, f32::INFINITY, f32::MAX]);
            assert!(t == 1 || t == 3 || t == 4 || t == 0, "{t} {params:?}");
            let t = s.sample(&mut [f32::MAX, f32::MIN, f32::MAX, -0.0, 0.0]);
            assert!(t < 5);
        }
    }
}

#[test]
fn tiny_and_huge_temperatures() {
    // 1000 / 1e-38 would overflow; the weights are exp((l - max) / T), so this is simply greedy.
    let mut s = Sampler::new(&plain(1e-38, 1));
    for _ in 0..100 {
        assert_eq!(s.sample(&mut [1000.0, 999.0, -5.0]), 0);
    }
    // An infinite temperature makes the survivors equally likely.
    let counts = histogram(&plain(f32::INFINITY, 2), &[10.0, 0.0, -10.0], 30_000);
    assert!(chi_square(&counts, &[1.0 / 3.0; 3]) < 13.82, "{counts:?}"); // df = 2, p = 0.001
}

// ---------------------------------------------------------------------------------------------------------
// StopMatcher
// ---------------------------------------------------------------------------------------------------------

fn stops(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Runs `deltas` through a matcher; returns everything emitted (flushed at the end unless stopped) and whether a
/// stop string hit.
fn run_stops(list: &[&str], deltas: &[&str]) -> (String, bool) {
    let mut m = StopMatcher::new(&stops(list));
    let mut out = String::new();
    for d in deltas {
        let StopCheck { emit, stopped } = m.push(d);
        out.push_str(&emit);
        if stopped {
            // Later pushes give nothing.
            assert_eq!(m.push("more"), StopCheck { emit: String::new(), stopped: true });
            assert_eq!(m.flush(), "");
            return (out, true);
        }
    }
    out.push_str(&m.flush());
    (out, false)
}

#[test]
fn stop_at_start() {
    assert_eq!(run_stops(&["STOP"], &["STOP and then some"]), (String::new(), true));
    assert_eq!(run_stops(&["STOP"], &["ST", "OP", "x"]), (String::new(), true));
}

#[test]
fn stop_in_middle_drops_the_rest() {
    assert_eq!(run_stops(&["\n\nUser:"], &["Hello there.\n\nUser: hi"]), ("Hello there.".into(), true));
    assert_eq!(run_stops(&["</s>"], &["Hi", " there", "</s>", "ignored"]), ("Hi there".into(), true));
}

#[test]
fn stop_spanning_three_deltas_is_never_emitted() {
    let mut m = StopMatcher::new(&stops(&["<|im_end|>"]));
    assert_eq!(m.push("Sure<|"), StopCheck { emit: "Sure".into(), stopped: false });
    assert_eq!(m.push("im_"), StopCheck { emit: String::new(), stopped: false });
    assert_eq!(m.push("end|>trailing"), StopCheck { emit: String::new(), stopped: true });
    assert_eq!(m.matched(), Some("<|im_end|>"));
}

#[test]
fn partial_match_that_fails_releases_held_text() {
    let mut m = StopMatcher::new(&stops(&["<|im_end|>"]));
    assert_eq!(m.push("a <|im").emit, "a ");
    assert_eq!(m.push("_e").emit, "");
    // Not the stop after all: the held text comes out, in order, with the new text.
    assert_eq!(m.push("x"), StopCheck { emit: "<|im_ex".into(), stopped: false });
    // A held partial match at the end of the stream is flushed.
    assert_eq!(m.push(" <|").emit, " ");
    assert_eq!(m.flush(), "<|");
    // Restarting inside a failed match: "aab" against stop "ab".
    assert_eq!(run_stops(&["ab"], &["a", "a", "b"]), ("a".into(), true));
    assert_eq!(run_stops(&["aab"], &["a", "a", "a", "b"]), ("a".into(), true));
}

#[test]
fn stops_that_are_prefixes_of_each_other() {
    // The shorter one completes first, so it wins, however the text is split.
    assert_eq!(run_stops(&["User", "User:"], &["Hi User: x"]), ("Hi ".into(), true));
    assert_eq!(run_stops(&["User:", "User"], &["Hi Us", "er: x"]), ("Hi ".into(), true));
    let mut m = StopMatcher::new(&stops(&["abcd", "ab"]));
    assert!(m.push("xxab").stopped);
    assert_eq!(m.matched(), Some("ab"));
    // Overlapping stops: the first to complete wins, independent of chunking.
    assert_eq!(run_stops(&["abcd", "bc"], &["abcd"]), ("a".into(), true));
    assert_eq!(run_stops(&["abcd", "bc"], &["a", "b", "c", "d"]), ("a".into(), true));
    // Same end: the longer (earlier-starting) one.
    assert_eq!(run_stops(&["c", "abc"], &["xabc"]), ("x".into(), true));
    assert_eq!(run_stops(&["c", "abc"], &["xa", "bc"]), ("x".into(), true));
}

#[test]
fn empty_and_duplicate_stops_are_ignored() {
    assert_eq!(run_stops(&["", ""], &["anything", " at all"]), ("anything at all".into(), false));
    assert_eq!(run_stops(&["", "x", "x"], &["abxcd"]), ("ab".into(), true));
    assert_eq!(run_stops(&[], &["a", "b"]), ("ab".into(), false));
}

#[test]
fn unicode_stop_strings() {
    assert_eq!(run_stops(&["日本"], &["今日", "本です"]), ("今".into(), true));
    assert_eq!(run_stops(&["🛑"], &["go go ", "🛑", " no"]), ("go go ".into(), true));
    // A character sharing its leading byte with the stop's first character is not a partial match.
    let mut m = StopMatcher::new(&stops(&["é!"]));
    assert_eq!(m.push("caã").emit, "caã");
    assert_eq!(m.push("fé").emit, "f");
    assert_eq!(m.push("?").emit, "é?");
    assert_eq!(run_stops(&["é!"], &["café", "!", "x"]), ("caf".into(), true));
}

#[test]
fn chunking_does_not_change_the_result() {
    let text = "The answer is 42.\nObservation: <tool>call</tool>\n\nUser: 🛑日本語 ab abab abc";
    let lists: [&[&str]; 5] = [
        &["\n\nUser:"],
        &["Observation:", "Obs"],
        &["</tool>", "<tool>call</"],
        &["日本語", "本"],
        &["abc", "bab", "zz"],
    ];
    let chars: Vec<char> = text.chars().collect();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for list in lists {
        let whole = run_stops(list, &[text]);
        for _ in 0..200 {
            // Random char-aligned cuts.
            let mut deltas = Vec::new();
            let mut i = 0;
            while i < chars.len() {
                let len = rng.random_range(1..=6).min(chars.len() - i);
                deltas.push(chars[i..i + len].iter().collect::<String>());
                i += len;
            }
            let refs: Vec<&str> = deltas.iter().map(String::as_str).collect();
            assert_eq!(run_stops(list, &refs), whole, "{list:?} {refs:?}");
        }
    }
}

#[test]
fn long_generations_hold_only_a_short_tail() {
    let mut m = StopMatcher::new(&stops(&["<|end|>", "STOP"]));
    let mut out = String::new();
    for i in 0..100_000 {
        let check = m.push(if i % 2 == 0 { "<|en" } else { "d| S" });
        assert!(!check.stopped);
        assert!(m.held().len() < "<|end|>".len());
        out.push_str(&check.emit);
    }
    out.push_str(&m.flush());
    assert_eq!(out.len(), 50_000 * "<|end| S".len());
}

// ---------------------------------------------------------------------------------------------------------
// IncrementalDecoder
// ---------------------------------------------------------------------------------------------------------

fn decode_pieces(pieces: &[&[u8]]) -> Vec<String> {
    let mut d = IncrementalDecoder::new();
    let mut out: Vec<String> = pieces.iter().map(|p| d.push(p)).collect();
    out.push(d.flush());
    out
}

#[test]
fn emoji_split_over_four_pushes() {
    let bytes = "😀".as_bytes();
    assert_eq!(bytes.len(), 4);
    let out = decode_pieces(&[&bytes[..1], &bytes[1..2], &bytes[2..3], &bytes[3..]]);
    assert_eq!(out, vec!["", "", "", "😀", ""]);
    // Mixed with ASCII on both sides.
    let mut d = IncrementalDecoder::new();
    assert_eq!(d.push(b"hi \xF0\x9F"), "hi ");
    assert!(d.has_pending());
    assert_eq!(d.push(b"\x98\x80!"), "😀!");
    assert!(!d.has_pending());
}

#[test]
fn cjk_split_across_tokens() {
    let bytes = "日本語".as_bytes(); // 3 bytes each
    let out = decode_pieces(&[&bytes[..2], &bytes[2..4], &bytes[4..8], &bytes[8..]]);
    assert_eq!(out, vec!["", "日", "本", "語", ""]);
}

#[test]
fn invalid_bytes_become_replacement_at_once() {
    let mut d = IncrementalDecoder::new();
    // 0xFF can never start a character.
    assert_eq!(d.push(b"a\xFFb"), "a\u{FFFD}b");
    // A lone continuation byte.
    assert_eq!(d.push(b"\x80"), "\u{FFFD}");
    assert!(!d.has_pending());
    // A lead byte followed by a non-continuation: known bad as soon as the next byte arrives.
    assert_eq!(d.push(b"\xE6"), "");
    assert_eq!(d.push(b"x"), "\u{FFFD}x");
    // Overlong encodings: C0 AF ('/' in two bytes) and E0 80 AF.
    assert_eq!(d.push(b"\xC0\xAF"), "\u{FFFD}\u{FFFD}");
    assert_eq!(d.push(b"\xE0"), "");
    assert_eq!(d.push(b"\x80"), "\u{FFFD}\u{FFFD}"); // E0 80 is already impossible
    assert_eq!(d.push(b"\xAF"), "\u{FFFD}");
    // A UTF-16 surrogate (ED A0 80) and a code point above U+10FFFF (F4 90 ..).
    assert_eq!(d.push(b"\xED\xA0\x80"), "\u{FFFD}\u{FFFD}\u{FFFD}");
    assert_eq!(d.push(b"\xF4\x90"), "\u{FFFD}\u{FFFD}");
    assert!(!d.has_pending());
}

#[test]
fn truncated_character_at_the_end_is_flushed_lossily() {
    let mut d = IncrementalDecoder::new();
    assert_eq!(d.push(b"ok\xF0\x9F\x98"), "ok");
    assert_eq!(d.flush(), "\u{FFFD}");
    assert_eq!(d.flush(), "");
    assert_eq!(d.push("é".as_bytes()), "é");
}

#[test]
fn any_split_equals_lossy_decoding_of_the_whole() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let samples: Vec<Vec<u8>> = vec![
        "héllo wörld 😀 日本語 👩‍👩‍👧 ok".as_bytes().to_vec(),
        b"\xF0\x9F\x98\x80\xF0\x9F\x98\xE6\x97\xA5\xFF\x80\xC0\xAF\xE0\x80\xAF\xED\xA0\x80abc\xF4\x90\x80\x80\xC3"
            .to_vec(),
        (0..2000).map(|_| rng.random::<u8>()).collect(),
    ];
    for bytes in samples {
        let want = String::from_utf8_lossy(&bytes).into_owned();
        for _ in 0..300 {
            let mut d = IncrementalDecoder::new();
            let mut got = String::new();
            let mut i = 0;
            while i < bytes.len() {
                let len = rng.random_range(0..=5).min(bytes.len() - i);
                got.push_str(&d.push(&bytes[i..i + len]));
                i += len;
            }
            got.push_str(&d.flush());
            assert_eq!(got, want);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Generation (decoder + stop matcher)
// ---------------------------------------------------------------------------------------------------------

#[test]
fn generation_stop_split_inside_a_multibyte_character() {
    // The stop "語!" arrives as token pieces that cut its first character in the middle.
    let mut g = Generation::new(&stops(&["語!"]));
    let text = "日本語!後".as_bytes();
    let pieces: [&[u8]; 5] = [&text[..4], &text[4..7], &text[7..8], &text[8..10], &text[10..]];
    let mut out = String::new();
    let mut stopped = false;
    for p in pieces {
        let check = g.push(p);
        out.push_str(&check.emit);
        if check.stopped {
            stopped = true;
            break;
        }
    }
    assert!(stopped);
    assert_eq!(out, "日本");
    assert_eq!(g.matched_stop(), Some("語!"));
    assert_eq!(g.finish(), StopCheck { emit: String::new(), stopped: true });
}

#[test]
fn generation_finish_releases_held_text_and_pending_bytes() {
    let mut g = Generation::new(&stops(&["</s>"]));
    assert_eq!(g.push(b"ok </").emit, "ok ");
    // Half a character: nothing new for the stop matcher, "</" stays held.
    assert_eq!(g.push(b"\xE6\x97").emit, "");
    let end = g.finish();
    assert_eq!(end, StopCheck { emit: "</\u{FFFD}".into(), stopped: false });
    assert!(!g.is_stopped());

    let mut g = Generation::new(&stops(&["</s>"]));
    assert_eq!(g.push(b"done </").emit, "done ");
    assert_eq!(g.finish(), StopCheck { emit: "</".into(), stopped: false });
}

#[test]
fn generation_without_stops_streams_whole_characters() {
    let mut g = Generation::new(&[]);
    let bytes = "a😀b".as_bytes();
    let mut deltas = Vec::new();
    for b in bytes {
        let check = g.push(std::slice::from_ref(b));
        assert!(!check.stopped);
        deltas.push(check.emit);
    }
    deltas.push(g.finish().emit);
    assert_eq!(deltas, vec!["a", "", "", "", "😀", "b", ""]);
}
