//! One forward pass for several sequences' next tokens (`Model::forward_batch`, what the engine runs when
//! several requests decode at once) gives each sequence exactly the logits it gets alone, on the real models.
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
