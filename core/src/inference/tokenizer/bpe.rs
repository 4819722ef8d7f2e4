//! Byte-level BPE as llama.cpp does it for `tokenizer.ggml.model == "gpt2"` vocabularies: pre-tokenize into words,
//! then inside each word start from single bytes and repeatedly apply the merge with the lowest rank (leftmost first
//! on ties).
//!
//! Tokens of a byte-level vocabulary spell each byte as a printable code point (GPT-2's byte-to-unicode table).
//! Rather than build those strings, symbols carry token ids from the start: byte `b` is the token that spells it,
//! and merges are looked up by `(left id, right id)`, which is the same as llama.cpp's lookup by the two strings
//! because every merge part and result is a vocabulary token (checked when loading).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::Vocab;
use super::pretokenize;
use super::unicode::{self, CharInfo};

/// Bytes that GPT-2's byte-to-unicode table spells as themselves (printable Latin-1).
const fn is_printable(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// GPT-2's byte-to-unicode table: printable Latin-1 bytes stand for themselves, the other 68 bytes are mapped, in
/// order, to U+0100 and up. `.1` is the inverse for those 68: the byte spelled by U+0100 + i.
static BYTE_TABLES: ([char; 256], [u8; 68]) = {
    let mut chars = ['\0'; 256];
    let mut shifted = [0u8; 68];
    let mut n = 0;
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        if is_printable(byte) {
            chars[b] = byte as char;
        } else {
            chars[b] = match char::from_u32(0x100 + n as u32) {
                Some(c) => c,
                None => char::REPLACEMENT_CHARACTER,
            };
            shifted[n] = byte;
            n += 1;
        }
        b += 1;
    }
    (chars, shifted)
};

/// The code point that spells byte `b` in a byte-level vocabulary.
pub(super) fn byte_to_char(b: u8) -> char {
    BYTE_TABLES.0[usize::from(b)]
}

/// The byte a code point of a byte-level vocabulary spells; `None` for code points outside GPT-2's table.
pub(super) fn char_to_byte(c: char) -> Option<u8> {
    let cp = u32::from(c);
    match u8::try_from(cp) {
        Ok(b) if is_printable(b) => Some(b),
        Ok(_) => None,
        Err(_) => BYTE_TABLES.1.get(cp.checked_sub(0x100)? as usize).copied(),
    }
}

/// Symbols of the word being merged, as a linked list.
#[derive(Debug, Clone, Copy)]
struct Symbol {
    /// The token this symbol is, or `None` for a byte the vocabulary cannot spell (it never merges and is dropped).
    id: Option<u32>,
    /// Still part of the list (false once merged into its left neighbour).
    alive: bool,
    prev: Option<u32>,
    next: Option<u32>,
}

/// A mergeable pair in the queue: `(rank, left index, right index, left id, right id)`, taken smallest first.
type Pair = (u32, u32, u32, u32, u32);

/// Reusable buffers, so tokenizing a long text allocates once rather than once per word.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    chars: Vec<CharInfo>,
    words: Vec<std::ops::Range<usize>>,
    symbols: Vec<Symbol>,
    queue: BinaryHeap<Reverse<Pair>>,
    word_text: String,
}

/// Tokenizes one text fragment (no special tokens in it), appending ids to `out`.
pub(super) fn tokenize(
    vocab: &Vocab,
    pre: pretokenize::PreTokenizer,
    text: &str,
    scratch: &mut Scratch,
    out: &mut Vec<u32>,
) {
    unicode::char_infos(text, &mut scratch.chars);
    pretokenize::split(pre, &scratch.chars, &mut scratch.words);
    let bytes = text.as_bytes();
    for w in 0..scratch.words.len() {
        let range = scratch.words[w].clone();
        let start = scratch.chars[range.start].offset as usize;
        let end = scratch.chars.get(range.end).map_or(text.len(), |c| c.offset as usize);
        tokenize_word(vocab, &bytes[start..end], scratch, out);
    }
}

fn tokenize_word(vocab: &Vocab, word: &[u8], scratch: &mut Scratch, out: &mut Vec<u32>) {
    if vocab.ignore_merges {
        // Llama 3 style: a word that is a token is taken whole, whatever the merges would make of it.
        scratch.word_text.clear();
        scratch.word_text.extend(word.iter().map(|&b| byte_to_char(b)));
        if let Some(id) = vocab.id_of(&scratch.word_text) {
            out.push(id);
            return;
        }
    }

    let symbols = &mut scratch.symbols;
    symbols.clear();
    let n = word.len() as u32;
    symbols.extend(word.iter().enumerate().map(|(i, &b)| {
        let i = i as u32;
        Symbol { id: vocab.byte_token(b), alive: true, prev: i.checked_sub(1), next: (i + 1 < n).then_some(i + 1) }
    }));

    let queue = &mut scratch.queue;
    queue.clear();
    let push = |queue: &mut BinaryHeap<_>, symbols: &[Symbol], left: Option<u32>, right: Option<u32>| {
        let (Some(left), Some(right)) = (left, right) else {
            return;
        };
        let (Some(l), Some(r)) = (symbols[left as usize].id, symbols[right as usize].id) else {
            return;
        };
        if let Some((rank, _)) = vocab.merge(l, r) {
            queue.push(Reverse((rank, left, right, l, r)));
        }
    };
    for i in 1..n {
        push(queue, symbols, Some(i - 1), Some(i));
    }

    while let Some(Reverse((_, left, right, l_id, r_id))) = queue.pop() {
        let (l, r) = (symbols[left as usize], symbols[right as usize]);
        // Stale: one side was merged away, or has become another token since the pair was queued.
        if !l.alive || !r.alive || l.id != Some(l_id) || r.id != Some(r_id) {
            continue;
        }
        let Some((_, merged)) = vocab.merge(l_id, r_id) else {
            continue;
        };
        symbols[left as usize].id = Some(merged);
        symbols[right as usize].alive = false;
        symbols[left as usize].next = r.next;
        if let Some(next) = r.next {
            symbols[next as usize].prev = Some(left);
        }
        push(queue, symbols, l.prev, Some(left));
        push(queue, symbols, Some(left), r.next);
    }

    // Symbol 0 only ever absorbs others. A byte the vocabulary cannot spell yields nothing, as in llama.cpp (whose
    // fallback looks the byte up as a one-byte string, which never names the token of a byte it lacks).
    let mut cursor = (n > 0).then_some(0u32);
    while let Some(i) = cursor {
        let s = symbols[i as usize];
        if let Some(id) = s.id {
            out.push(id);
        }
        cursor = s.next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_round_trips_and_matches_gpt2() {
        let mut seen = std::collections::HashSet::new();
        for b in 0..=255u8 {
            let c = byte_to_char(b);
            assert!(seen.insert(c));
            assert_eq!(char_to_byte(c), Some(b));
        }
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
        assert_eq!(byte_to_char(b'\t'), 'ĉ');
        assert_eq!(byte_to_char(0xAD), 'Ń');
        assert_eq!(byte_to_char(b'a'), 'a');
        assert_eq!(char_to_byte('€'), None);
    }
}
