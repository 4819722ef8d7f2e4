//! SentencePiece-style tokenization as llama.cpp does it for `tokenizer.ggml.model == "llama"` vocabularies:
//! start from single code points and repeatedly merge the adjacent pair whose concatenation is the vocabulary
//! token with the highest score (leftmost first on ties); whatever never became a token is spelled with byte
//! tokens (`<0xXX>`).
//!
//! Pairs wait in a max-heap keyed by score. Symbols are a linked list over the code points; merging marks the right
//! symbol dead, and heap entries whose symbols changed since they were pushed are recognised by their size and
//! skipped, so each merge costs O(log n).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::Vocab;

#[derive(Debug, Clone, Copy)]
struct Symbol {
    /// Byte range of the symbol in the text: `start..start + len`; `len == 0` once merged into its left neighbour.
    start: u32,
    len: u32,
    prev: Option<u32>,
    next: Option<u32>,
}

#[derive(Debug)]
struct Bigram {
    score: f32,
    left: u32,
    right: u32,
    /// Byte length of the merged text, to recognise entries made stale by later merges.
    size: u32,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Bigram {}

impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Bigram {
    /// Higher score first; on equal scores the leftmost pair first. Scores are never NaN (see `Vocab` loading).
    fn cmp(&self, other: &Self) -> Ordering {
        self.score.total_cmp(&other.score).then_with(|| other.left.cmp(&self.left))
    }
}

/// Tokenizes `text` (spaces already escaped to U+2581 by the caller), appending ids to `out`.
pub(super) fn tokenize(vocab: &Vocab, text: &str, out: &mut Vec<u32>) {
    if text.is_empty() {
        return;
    }
    let Ok(n_bytes) = u32::try_from(text.len()) else {
        return;
    };
    let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
    for (offset, c) in text.char_indices() {
        let index = symbols.len() as u32;
        let start = offset as u32;
        let len = c.len_utf8() as u32;
        symbols.push(Symbol {
            start,
            len,
            prev: index.checked_sub(1),
            next: if start + len < n_bytes { Some(index + 1) } else { None },
        });
    }

    let mut queue = BinaryHeap::with_capacity(symbols.len());
    let push = |queue: &mut BinaryHeap<Bigram>, symbols: &[Symbol], left: Option<u32>, right: Option<u32>| {
        let (Some(left), Some(right)) = (left, right) else {
            return;
        };
        let (l, r) = (symbols[left as usize], symbols[right as usize]);
        let merged = &text[l.start as usize..(r.start + r.len) as usize];
        if let Some(id) = vocab.id_of(merged) {
            queue.push(Bigram { score: vocab.score(id), left, right, size: l.len + r.len });
        }
    };

    for i in 1..symbols.len() as u32 {
        push(&mut queue, &symbols, Some(i - 1), Some(i));
    }

    while let Some(bigram) = queue.pop() {
        let (l, r) = (symbols[bigram.left as usize], symbols[bigram.right as usize]);
        if l.len == 0 || r.len == 0 || l.len + r.len != bigram.size {
            continue;
        }
        // Merge the right symbol into the left one.
        symbols[bigram.left as usize].len += r.len;
        symbols[bigram.right as usize].len = 0;
        symbols[bigram.left as usize].next = r.next;
        if let Some(next) = r.next {
            symbols[next as usize].prev = Some(bigram.left);
        }
        push(&mut queue, &symbols, l.prev, Some(bigram.left));
        push(&mut queue, &symbols, Some(bigram.left), r.next);
    }

    // The first symbol only ever absorbs others, so the list starts at 0.
    let mut cursor = Some(0u32);
    while let Some(i) = cursor {
        let s = symbols[i as usize];
        let piece = &text[s.start as usize..(s.start + s.len) as usize];
        match vocab.id_of(piece) {
            Some(id) => out.push(id),
            // Merged symbols are always tokens, so only single code points get here.
            None => {
                for &b in piece.as_bytes() {
                    if let Some(id) = vocab.byte_token(b).or(vocab.unk) {
                        out.push(id);
                    }
                }
            }
        }
        cursor = s.next;
    }
}
