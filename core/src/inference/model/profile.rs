//! Where forward passes spend their time, section by section: for finding what bounds a device (the GPU check's
//! `--profile`), not for serving. Off by default, and then free but for one relaxed atomic load per section.
//! When on, each section ends with a device synchronize, so that its time is the device's work plus the host's,
//! not just the host's enqueueing; the synchronizations themselves add a little to every section.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use candle_core::Device;

use crate::error::Result;
use crate::inference::model::engine_err;

/// The parts of a forward pass that are timed apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// What a batched step builds before its layers: slots, scatter index, masks, RoPE tables (uploads).
    Prepare,
    /// The token embeddings.
    Embed,
    /// Norms, projections (q, k, v, o), RoPE of the attention blocks.
    AttentionProjections,
    /// Writing the new keys and values to the cache and reading the cached ones back.
    KvCache,
    /// Scores, masks, softmax and the weighted sum of values.
    AttentionMath,
    /// The feed-forward blocks with their norms and both residual additions.
    FeedForward,
    /// The final norm and the output projection.
    Logits,
    /// Copying the logits to the host.
    ToHost,
}

impl Section {
    pub const ALL: [Section; 8] = [
        Section::Prepare,
        Section::Embed,
        Section::AttentionProjections,
        Section::KvCache,
        Section::AttentionMath,
        Section::FeedForward,
        Section::Logits,
        Section::ToHost,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Section::Prepare => "prepare",
            Section::Embed => "embed",
            Section::AttentionProjections => "attention_projections",
            Section::KvCache => "kv_cache",
            Section::AttentionMath => "attention_math",
            Section::FeedForward => "feed_forward",
            Section::Logits => "logits",
            Section::ToHost => "to_host",
        }
    }
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static TOTALS: Mutex<[(Duration, u64); 8]> = Mutex::new([(Duration::ZERO, 0); 8]);

/// Turns timing on or off for every model in the process and clears what was recorded.
pub fn set_enabled(on: bool) {
    if on {
        take();
        ENABLED.store(true, Ordering::Relaxed);
    } else {
        ENABLED.store(false, Ordering::Relaxed);
        take();
    }
}

/// The time spent in each section since the last call (or [`set_enabled`]), and how many times it ran.
pub fn take() -> Vec<(Section, Duration, u64)> {
    let mut totals = TOTALS.lock().unwrap_or_else(|e| e.into_inner());
    let out = Section::ALL.iter().zip(totals.iter()).map(|(&s, &(d, n))| (s, d, n)).collect();
    *totals = [(Duration::ZERO, 0); 8];
    out
}

/// Runs `f` as section `s`: when timing is on, waits for `device` to finish it and adds its time.
pub(crate) fn timed<T>(device: &Device, s: Section, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let m = mark();
    let out = f()?;
    m.end(device, s)?;
    Ok(out)
}

/// The start of a section in straight-line code: `let m = mark(); ...; m.end(device, section)?`.
pub(crate) struct Mark(Option<Instant>);

pub(crate) fn mark() -> Mark {
    Mark(ENABLED.load(Ordering::Relaxed).then(Instant::now))
}

impl Mark {
    /// Ends the section begun at this mark (and begins none).
    pub(crate) fn end(self, device: &Device, s: Section) -> Result<()> {
        let Some(start) = self.0 else { return Ok(()) };
        device.synchronize().map_err(engine_err)?;
        record(s, start.elapsed());
        Ok(())
    }
}

fn record(s: Section, elapsed: Duration) {
    let mut totals = TOTALS.lock().unwrap_or_else(|e| e.into_inner());
    // `Section::ALL` lists the sections in declaration order, so a section's discriminant is its index there.
    let (time, runs) = &mut totals[s as usize];
    *time += elapsed;
    *runs += 1;
}

#[cfg(test)]
mod tests {
    use super::Section;

    /// `record` indexes the totals by discriminant: `ALL` must list the sections in declaration order.
    #[test]
    fn all_lists_the_sections_in_declaration_order() {
        for (i, s) in Section::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i, "{}", s.name());
        }
    }
}
