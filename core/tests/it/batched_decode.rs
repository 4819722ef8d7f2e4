//! One forward pass for several sequences' next tokens (`Model::forward_batch`, what the engine runs when
//! several requests decode at once), or for their prompt chunks (`Model::forward_chunks`, what it runs when several
//! prompts wait), gives each sequence exactly what it gets alone, on the real models.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use candle_core::Device;
use jan_core::gguf::{ReadOptions, read_info};
use jan_core::inference::model::{KvCache, Model};
use jan_core::inference::sampling::argmax;

fn check(model_file: &str) {
    let path = common::test_model(model_file);
    let info = read_info(&path, &ReadOptions::default()).unwrap();
    let model = Model::load(&path, &info, &Device::Cpu, &mut |_| {}).unwrap();
    // Three prompts of different lengths: the sequences sit at different positions in every step.
    let prompts: [Vec<u32>; 3] = [
        (0..5).map(|i| 1000 + i * 37).collect(),
        (0..19).map(|i| 2000 + i * 11).collect(),
        (0..2).map(|i| 3000 + i).collect(),
    ];
    let start = |caches: &mut Vec<KvCache>| -> Vec<u32> {
        prompts
            .iter()
            .map(|p| {
                let mut cache = model.new_cache(64).unwrap();
                let logits = model.forward(p, &mut cache).unwrap().to_vec1::<f32>().unwrap();
                caches.push(cache);
                argmax(&logits)
            })
            .collect()
    };
    let (mut alone, mut batched) = (Vec::new(), Vec::new());
    let mut next_alone = start(&mut alone);
    let mut next_batched = start(&mut batched);
    assert_eq!(next_alone, next_batched);
    for step in 0..6 {
        let one_by_one: Vec<Vec<f32>> = alone
            .iter_mut()
            .zip(&next_alone)
            .map(|(cache, &t)| model.forward(&[t], cache).unwrap().to_vec1::<f32>().unwrap())
            .collect();
        let mut refs: Vec<&mut KvCache> = batched.iter_mut().collect();
        let together = model.forward_batch(&next_batched, &mut refs).unwrap();
        for (i, (a, b)) in one_by_one.iter().zip(&together).enumerate() {
            let differ = a.iter().zip(b).filter(|(x, y)| x.to_bits() != y.to_bits()).count();
            assert_eq!(differ, 0, "{model_file}: step {step}, sequence {i}: {differ} logits differ");
        }
        next_alone = one_by_one.iter().map(|l| argmax(l)).collect();
        next_batched = together.iter().map(|l| argmax(l)).collect();
    }
    for (a, b) in alone.iter().zip(&batched) {
        assert_eq!(a.tokens(), b.tokens());
    }
    // A full cache is refused before anything runs, and the other sequences are untouched.
    let mut small = model.new_cache(2).unwrap();
    model.forward(&[1000, 1001], &mut small).unwrap();
    let before = batched[0].len();
    let mut refs: Vec<&mut KvCache> = vec![&mut batched[0], &mut small];
    assert!(model.forward_batch(&[5, 6], &mut refs).is_err());
    assert_eq!(batched[0].len(), before);
    assert!(model.forward_batch(&[5], &mut []).is_err(), "tokens and sequences must pair up");
}

#[test]
fn gemma3_batched_decode_equals_one_at_a_time() {
    check("gemma-3-270m-q4_k_m.gguf");
}

#[test]
fn qwen2_batched_decode_equals_one_at_a_time() {
    check("qwen2.5-coder-0.5b-instruct.gguf");
}

/// Prompt chunks of three sequences in one pass store what each chunk stores alone: the logits of the next token
/// then agree bit for bit. The sequences start at different positions (one empty, one past gemma's 512-token
/// sliding window), one chunk is a single token (its own kernel), and a second pass follows the first. Host
/// caches (the CPU's) and caches sharing a pool (a GPU's, here on the CPU) alike.
fn chunks_check(model_file: &str) {
    let path = common::test_model(model_file);
    let info = read_info(&path, &ReadOptions::default()).unwrap();
    let model = Model::load(&path, &info, &Device::Cpu, &mut |_| {}).unwrap();
    for pooled in [false, true] {
        chunks_on(&model, model_file, pooled);
    }
}

fn chunks_on(model: &Model, model_file: &str, pooled: bool) {
    let model_file = &format!("{model_file}{}", if pooled { " (pooled caches)" } else { "" });
    let text = |base: u32, len: usize| -> Vec<u32> { (0..len as u32).map(|i| base + (i * 13) % 997).collect() };
    let before: [Vec<u32>; 3] = [Vec::new(), text(1000, 530), text(2000, 9)];
    let passes: [[Vec<u32>; 3]; 2] =
        [[text(3000, 37), text(4000, 1), text(5000, 120)], [text(6000, 5), text(7000, 60), text(8000, 1)]];
    let fresh = || -> Vec<KvCache> {
        let mut caches = if pooled {
            model.new_pooled_caches(before.len(), 800).unwrap()
        } else {
            before.iter().map(|_| model.new_cache(800).unwrap()).collect()
        };
        for (cache, p) in caches.iter_mut().zip(&before) {
            if !p.is_empty() {
                model.forward(p, cache).unwrap();
            }
        }
        caches
    };
    let (mut alone, mut together) = (fresh(), fresh());
    for chunks in &passes {
        for (cache, c) in alone.iter_mut().zip(chunks) {
            model.forward(c, cache).unwrap();
        }
        let slices: Vec<&[u32]> = chunks.iter().map(Vec::as_slice).collect();
        let mut refs: Vec<&mut KvCache> = together.iter_mut().collect();
        model.forward_chunks(&slices, &mut refs).unwrap();
    }
    for (i, (a, b)) in alone.iter_mut().zip(together.iter_mut()).enumerate() {
        assert_eq!(a.tokens(), b.tokens(), "{model_file}: sequence {i}");
        let la = model.forward(&[42], a).unwrap().to_vec1::<f32>().unwrap();
        let lb = model.forward(&[42], b).unwrap().to_vec1::<f32>().unwrap();
        let differ = la.iter().zip(&lb).filter(|(x, y)| x.to_bits() != y.to_bits()).count();
        assert_eq!(differ, 0, "{model_file}: sequence {i}: {differ} logits differ after the chunks");
    }
    // A chunk that does not fit its cache is refused before anything runs.
    let mut small = model.new_cache(4).unwrap();
    let len = together[0].len();
    let mut refs: Vec<&mut KvCache> = vec![&mut together[0], &mut small];
    assert!(model.forward_chunks(&[&[1, 2], &[1, 2, 3, 4, 5]], &mut refs).is_err());
    assert_eq!(together[0].len(), len);
    assert!(model.forward_chunks(&[&[]], &mut [&mut small]).is_err(), "an empty chunk is refused");
}

#[test]
fn gemma3_batched_prompt_chunks_equal_one_at_a_time() {
    chunks_check("gemma-3-270m-q4_k_m.gguf");
}

#[test]
fn qwen2_batched_prompt_chunks_equal_one_at_a_time() {
    chunks_check("qwen2.5-coder-0.5b-instruct.gguf");
}

/// The device path (caches in one pool, a whole decoding step as one pass of tensor operations: what a GPU
/// runs) on the CPU, against the CPU's own path (host caches, attention rounded as ggml rounds it): prompts
/// written through the pool, then greedy decoding of four sequences at different positions (one past gemma's
/// 512-token sliding window), every other step leaving one out so that the batch is not always the whole pool.
/// The paths round attention differently (and a batch pads every sequence's attention to the longest), and the
/// small models amplify a last-bit difference once it flips the 8-bit rounding of the next product's input, so
/// logits are compared as llama.cpp parity is: each sequence's greedy tokens must agree with the CPU path's
/// until a step where the CPU's top two are within 0.2 nats (a near-tie either rounding may break).
fn pooled_check(model_file: &str, long: usize) {
    let path = common::test_model(model_file);
    let info = read_info(&path, &ReadOptions::default()).unwrap();
    let model = Model::load(&path, &info, &Device::Cpu, &mut |_| {}).unwrap();
    // Repeating patterns, which the models continue with confidence (few near-ties to stop the comparison).
    let pattern =
        |base: u32, period: u32, len: usize| -> Vec<u32> { (0..len as u32).map(|i| base + (i % period) * 7).collect() };
    let prompts: [Vec<u32>; 4] =
        [pattern(1000, 3, 6), pattern(2000, 7, long), pattern(3000, 2, 2), pattern(4000, 5, 40)];
    let steps = 12;
    let capacity = long + steps + 4;
    let mut host: Vec<KvCache> = prompts.iter().map(|_| model.new_cache(capacity).unwrap()).collect();
    let mut pooled = model.new_pooled_caches(prompts.len(), capacity).unwrap();
    let (mut next_cpu, mut next_pool) = (Vec::new(), Vec::new());
    for (i, p) in prompts.iter().enumerate() {
        let a = model.forward(p, &mut host[i]).unwrap().to_vec1::<f32>().unwrap();
        let b = model.forward(p, &mut pooled[i]).unwrap().to_vec1::<f32>().unwrap();
        assert_close(&a, &b, 1e-3, &format!("{model_file}: prompt of {}", p.len()));
        next_cpu.push(argmax(&a));
        next_pool.push(argmax(&b));
    }
    // Sequences still being compared (until their CPU run reaches a near-tie).
    let mut live = [true; 4];
    let mut compared = 0;
    for step in 0..steps {
        for i in 0..4 {
            if live[i] {
                assert_eq!(next_pool[i], next_cpu[i], "{model_file}: step {step}, sequence {i}: greedy tokens differ");
            }
        }
        let by_cpu: Vec<Vec<f32>> = host
            .iter_mut()
            .zip(&next_cpu)
            .map(|(cache, &t)| model.forward(&[t], cache).unwrap().to_vec1::<f32>().unwrap())
            .collect();
        let take: Vec<usize> = (0..4).filter(|i| step % 2 == 0 || *i != 1).collect();
        let tokens: Vec<u32> = take.iter().map(|&i| next_pool[i]).collect();
        let mut refs: Vec<&mut KvCache> =
            pooled.iter_mut().enumerate().filter(|(i, _)| take.contains(i)).map(|(_, c)| c).collect();
        let mut by_pool: Vec<Option<Vec<f32>>> = vec![None; 4];
        for (&i, l) in take.iter().zip(model.forward_batch(&tokens, &mut refs).unwrap()) {
            by_pool[i] = Some(l);
        }
        if !take.contains(&1) {
            // The sequence left out catches up alone, through its pool's one-sequence path.
            by_pool[1] = Some(model.forward(&[next_pool[1]], &mut pooled[1]).unwrap().to_vec1::<f32>().unwrap());
        }
        for i in 0..4 {
            let b = by_pool[i].take().unwrap();
            assert!(b.iter().all(|x| x.is_finite()), "{model_file}: step {step}, sequence {i}: non-finite logits");
            next_pool[i] = argmax(&b);
            next_cpu[i] = argmax(&by_cpu[i]);
            if live[i] {
                compared += 1;
                live[i] = top2_gap(&by_cpu[i]) >= 0.2;
            }
        }
    }
    assert!(compared >= 24, "{model_file}: only {compared} steps compared before near-ties");
}

/// The lead of the best logit over the second, in nats of the log-softmax.
fn top2_gap(a: &[f32]) -> f32 {
    let best = argmax(a) as usize;
    let second = a.iter().enumerate().filter(|(i, _)| *i != best).map(|(_, &v)| v).fold(f32::MIN, f32::max);
    a[best] - second
}

fn spread(a: &[f32]) -> f32 {
    let mean = a.iter().sum::<f32>() / a.len() as f32;
    (a.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / a.len() as f32).sqrt()
}

/// Logits agree to within `tol` of their spread, and all are finite.
fn assert_close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert!(b.iter().all(|x| x.is_finite()), "{what}: non-finite logits");
    let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    let sd = spread(a);
    assert!(worst <= tol * sd, "{what}: logits differ by up to {worst} (spread {sd}, tolerance {tol})");
}

#[test]
fn gemma3_pooled_batched_decode_matches_the_cpu_path() {
    pooled_check("gemma-3-270m-q4_k_m.gguf", 530);
}

#[test]
fn qwen2_pooled_batched_decode_matches_the_cpu_path() {
    pooled_check("qwen2.5-coder-0.5b-instruct.gguf", 70);
}
