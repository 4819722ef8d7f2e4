//! Bytes of token pieces to text, one token at a time.
//!
//! Byte-level tokenizers (GPT-2 style, SentencePiece byte fallback) cut multi-byte characters across tokens: an
//! emoji can be four tokens of one byte each. Streaming each piece through `from_utf8_lossy` would send
//! replacement characters for halves of real characters, so the decoder holds back an incomplete trailing
//! sequence until it completes, and only that: bytes that can no longer become valid UTF-8 turn into U+FFFD at
//! once (per maximal invalid subpart, like `String::from_utf8_lossy`), so junk is never held forever. The
//! concatenation of all pushes and the final flush equals `String::from_utf8_lossy` of all bytes.

/// Turns per-token byte pieces into text that never ends in half a character.
#[derive(Debug, Clone, Default)]
pub struct IncrementalDecoder {
    /// An incomplete but so far valid sequence: at most 3 bytes.
    pending: Vec<u8>,
}

impl IncrementalDecoder {
    pub fn new() -> Self {
        IncrementalDecoder::default()
    }

    /// Adds a token's bytes; returns all text that is complete now.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        let mut out = String::new();
        if self.pending.is_empty() {
            let tail = decode_into(bytes, &mut out);
            self.pending.extend_from_slice(tail);
        } else {
            let mut joined = std::mem::take(&mut self.pending);
            joined.extend_from_slice(bytes);
            let tail = decode_into(&joined, &mut out);
            self.pending.extend_from_slice(tail);
        }
        out
    }

    /// Whether bytes of an unfinished character are waiting.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The stream ended: whatever is pending becomes U+FFFD.
    pub fn flush(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }
}

/// Appends the longest decodable prefix of `bytes` to `out` (invalid subparts as U+FFFD) and returns the
/// incomplete trailing sequence that might still become a character.
fn decode_into<'a>(bytes: &'a [u8], out: &mut String) -> &'a [u8] {
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                out.push_str(text);
                return &[];
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                if let Ok(text) = std::str::from_utf8(valid) {
                    out.push_str(text);
                }
                match e.error_len() {
                    Some(bad) => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        rest = after.get(bad..).unwrap_or_default();
                    }
                    // Ran out of bytes in the middle of a sequence that is valid so far.
                    None => return after,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_never_exceeds_three_bytes() {
        let mut d = IncrementalDecoder::new();
        assert_eq!(d.push(&[0xF0, 0x9F, 0x98]), "");
        assert_eq!(d.pending.len(), 3);
        // A fourth byte that is not a continuation: the three become one U+FFFD, 'A' passes.
        assert_eq!(d.push(b"A"), "\u{FFFD}A");
        assert!(!d.has_pending());
    }
}
