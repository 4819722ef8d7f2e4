//! From logits to streamed text: choosing tokens ([`Sampler`]), turning their bytes into whole characters
//! ([`IncrementalDecoder`]) and cutting the output at stop strings ([`StopMatcher`]); [`Generation`] ties the
//! last two together for an engine's token loop.
//!
//! Everything here is plain Rust on `&mut [f32]` and byte slices, independent of candle, so it is unit-testable
//! and shared by every local engine.
//!
//! ```
//! use jan_core::inference::SamplingParams;
//! use jan_core::inference::sampling::{Generation, Sampler};
//!
//! let mut sampler = Sampler::new(&SamplingParams { seed: Some(42), ..Default::default() });
//! sampler.accept_all(&[1, 2, 3]); // the prompt's tokens feed the repetition penalties
//! let mut generation = Generation::new(&["</s>".to_string()]);
//! let mut text = String::new();
//! let pieces: [&[u8]; 3] = [b"Hi", b" there</", b"s> ignored"];
//! for piece in pieces {
//!     let mut logits = vec![0.0f32; 8]; // the model's output
//!     let token = sampler.sample(&mut logits);
//!     sampler.accept(token);
//!     let step = generation.push(piece); // bytes of `token`, from the tokenizer
//!     text.push_str(&step.emit);
//!     if step.stopped {
//!         break;
//!     }
//! }
//! text.push_str(&generation.finish().emit);
//! assert_eq!(text, "Hi there");
//! ```

mod detokenize;
mod sampler;
mod stop;

pub use detokenize::IncrementalDecoder;
pub use sampler::{Sampler, argmax, penalize};
pub use stop::{StopCheck, StopMatcher};

/// One completion's output side: token bytes in, deltas to send out, stop strings applied.
///
/// Bytes go through an [`IncrementalDecoder`] (so no delta ends in half a character) and then a [`StopMatcher`]
/// (so no delta contains any part of a stop string). Once a stop string is hit, further pushes return nothing.
#[derive(Debug, Clone, Default)]
pub struct Generation {
    decoder: IncrementalDecoder,
    stops: StopMatcher,
}

impl Generation {
    pub fn new(stops: &[String]) -> Self {
        Generation { decoder: IncrementalDecoder::new(), stops: StopMatcher::new(stops) }
    }

    /// Adds one token's bytes; `emit` is the text to send now (may be empty), `stopped` says a stop string was
    /// completed and the engine should end the completion (finish reason `stop`).
    pub fn push(&mut self, token_bytes: &[u8]) -> StopCheck {
        if self.stops.is_stopped() {
            return StopCheck { emit: String::new(), stopped: true };
        }
        let text = self.decoder.push(token_bytes);
        if text.is_empty() {
            return StopCheck::default();
        }
        self.stops.push(&text)
    }

    /// The completion ended (end-of-turn token, length limit, cancellation): returns the text still held back:
    /// an unfinished character (as U+FFFD) and text that looked like the start of a stop string. `stopped` is
    /// true if a stop string was hit, possibly completed by that last bit.
    pub fn finish(&mut self) -> StopCheck {
        if self.stops.is_stopped() {
            return StopCheck { emit: String::new(), stopped: true };
        }
        let rest = self.decoder.flush();
        let mut check = self.stops.push(&rest);
        if !check.stopped {
            check.emit.push_str(&self.stops.flush());
        }
        check
    }

    /// Whether a stop string ended the output.
    pub fn is_stopped(&self) -> bool {
        self.stops.is_stopped()
    }

    /// The stop string that ended the output, if any.
    pub fn matched_stop(&self) -> Option<&str> {
        self.stops.matched()
    }
}
