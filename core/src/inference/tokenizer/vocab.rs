//! The vocabulary as the tokenization algorithms use it: token texts, text -> id lookup, scores, attributes,
//! byte tokens and BPE merges.
//!
//! Texts live in one buffer and the text -> id index is an open-addressing table of ids, so loading a 262,144-token
//! vocabulary makes a handful of allocations instead of two per token, and lookups touch little memory. Hashes are
//! keyed per process (std's `RandomState`), so neither a crafted model file nor crafted input can force collisions.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

/// Token attributes, as llama.cpp keeps them (`llama_token_attr`); several can be set at once.
pub(super) mod attr {
    pub const UNKNOWN: u16 = 1 << 0;
    pub const UNUSED: u16 = 1 << 1;
    pub const NORMAL: u16 = 1 << 2;
    pub const CONTROL: u16 = 1 << 3;
    pub const USER_DEFINED: u16 = 1 << 4;
    pub const BYTE: u16 = 1 << 5;
}

const EMPTY: u32 = u32::MAX;

/// Token texts, stored back to back, with a hash index from text to id.
#[derive(Debug)]
pub(super) struct Texts {
    data: String,
    /// `ends[i]` is where token `i`'s text ends in `data` (it starts where token `i - 1`'s ends).
    ends: Vec<u32>,
    /// Open addressing, linear probing: (id, high 32 bits of the hash) or `EMPTY` ids; a power of two long.
    slots: Vec<(u32, u32)>,
    hasher: RandomState,
}

/// Building [`Texts`] found the same text twice.
#[derive(Debug)]
pub(super) struct Duplicate {
    pub first: u32,
    pub second: u32,
}

impl Texts {
    /// Indexes `texts` (ids in order). On a duplicate text the first id keeps it and `Err` reports both, so the
    /// caller decides whether that is fatal.
    pub fn new<'a>(texts: impl ExactSizeIterator<Item = &'a str> + Clone) -> (Texts, Vec<Duplicate>) {
        let n = texts.len();
        let total: usize = texts.clone().map(str::len).sum();
        let mut data = String::with_capacity(total);
        let mut ends = Vec::with_capacity(n);
        for t in texts {
            data.push_str(t);
            ends.push(data.len() as u32);
        }
        let capacity = (n * 2).next_power_of_two().max(16);
        let mut this = Texts { data, ends, slots: vec![(EMPTY, 0); capacity], hasher: RandomState::new() };
        let mut duplicates = Vec::new();
        for id in 0..n as u32 {
            let text = this.text(id);
            let hash = this.hasher.hash_one(text);
            let mask = this.slots.len() - 1;
            let mut i = hash as usize & mask;
            loop {
                let (slot, high) = this.slots[i];
                if slot == EMPTY {
                    this.slots[i] = (id, (hash >> 32) as u32);
                    break;
                }
                if high == (hash >> 32) as u32 && this.text(slot) == text {
                    duplicates.push(Duplicate { first: slot, second: id });
                    break;
                }
                i = (i + 1) & mask;
            }
        }
        (this, duplicates)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The text of token `id` (empty for ids out of range).
    pub fn text(&self, id: u32) -> &str {
        let i = id as usize;
        let Some(&end) = self.ends.get(i) else {
            return "";
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        // Boundaries are where whole strings were pushed, so they are char boundaries.
        self.data.get(start as usize..end as usize).unwrap_or("")
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len() as u32).map(|id| self.text(id))
    }

    /// The id of the token whose text is `text`.
    pub fn id(&self, text: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(text);
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let (slot, high) = self.slots[i];
            if slot == EMPTY {
                return None;
            }
            if high == (hash >> 32) as u32 && self.text(slot) == text {
                return Some(slot);
            }
            i = (i + 1) & mask;
        }
    }
}

/// Everything the algorithms need to know about the vocabulary.
#[derive(Debug)]
pub(super) struct Vocab {
    pub texts: Texts,
    /// SentencePiece scores (0 when the file has none); never NaN, and -0.0 is stored as 0.0 so that comparing
    /// them totally orders them the way llama.cpp's `<` does.
    pub scores: Vec<f32>,
    pub attrs: Vec<u16>,
    /// The token for each byte: SPM `<0xXX>` tokens, or BPE's byte-level spelling of the byte.
    pub byte_tokens: [Option<u32>; 256],
    /// BPE merges: (left id << 32 | right id) -> (rank, merged id).
    pub merges: HashMap<u64, (u32, u32)>,
    /// Take a BPE word that is itself a token whole, without merging (Llama 3's tokenizers).
    pub ignore_merges: bool,
    pub unk: Option<u32>,
}

impl Vocab {
    pub fn id_of(&self, text: &str) -> Option<u32> {
        self.texts.id(text)
    }

    pub fn score(&self, id: u32) -> f32 {
        self.scores.get(id as usize).copied().unwrap_or(0.0)
    }

    pub fn byte_token(&self, b: u8) -> Option<u32> {
        self.byte_tokens[usize::from(b)]
    }

    pub fn merge(&self, left: u32, right: u32) -> Option<(u32, u32)> {
        self.merges.get(&(u64::from(left) << 32 | u64::from(right))).copied()
    }

    pub fn attr(&self, id: u32) -> u16 {
        self.attrs.get(id as usize).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_finds_every_text_and_reports_duplicates() {
        let words: Vec<String> = (0..1000).map(|i| format!("w{i}")).chain(["w7".to_owned()]).collect();
        let (texts, duplicates) = Texts::new(words.iter().map(String::as_str));
        assert_eq!(texts.len(), 1001);
        for (i, w) in words.iter().enumerate().take(1000) {
            assert_eq!(texts.id(w), Some(i as u32));
            assert_eq!(texts.text(i as u32), w);
        }
        assert_eq!(texts.id("nope"), None);
        assert_eq!(texts.text(5000), "");
        assert_eq!(duplicates.len(), 1);
        assert_eq!((duplicates[0].first, duplicates[0].second), (7, 1000));
    }
}
