//! Byte-level BPE pre-tokenizers: splitting text into the "words" that BPE merges run inside.
//!
//! Each model family ships a regex for this (`tokenizer.ggml.pre` names it). Rather than run those regexes
//! (they need lookahead, so no linear-time engine takes them, and a backtracking one is slow on long inputs), the
//! splitters here are hand-written scanners that take the same decisions in one pass. They follow llama.cpp's
//! behaviour, which is the reference for token ids: code point classes come from Unicode 15.1 like its tables, and
//! `\s+(?!\S)` never looks past the end of the piece being split.
//!
//! Splitting works on a list of code points ([`CharInfo`]) and produces pieces as ranges of code point indices;
//! some pre-tokenizers refine the pieces in several passes, each pass splitting every piece of the previous one.

use std::ops::Range;

use super::unicode::{CharInfo, Class};

/// How a vocabulary splits text before BPE: one of the regex families llama.cpp knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PreTokenizer {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    Gpt2,
    /// Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
    /// \s*[\r\n]+|\s+(?!\S)|\s+`.
    Llama3,
    /// Qwen 2: as Llama 3 but every digit is its own word (`\p{N}` instead of `\p{N}{1,3}`).
    Qwen2,
    /// Qwen 3.5: as Qwen 2 but words take combining marks too (`[\p{L}\p{M}]+`, and marks are not punctuation).
    Qwen35,
    /// StarCoder and friends: each digit alone (`\p{N}`), then GPT-2's regex.
    Starcoder,
    /// llama.cpp's fallback for BPE vocabularies that name no pre-tokenizer: runs of punctuation
    /// (`[\p{P}\$\+<=>\^~\|]+`), then GPT-2's regex, then runs of numbers (`\p{N}+`), then groups of three ASCII
    /// digits (`[0-9][0-9][0-9]`).
    Default,
}

/// The word-level rules of the GPT-2 family of regexes; see [`PreTokenizer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Words {
    Gpt2,
    Llama3,
    Qwen2,
    Qwen35,
}

/// Splits `chars` (a whole text fragment) into words, returned as ranges of indices into `chars`.
pub(super) fn split(pre: PreTokenizer, chars: &[CharInfo], out: &mut Vec<Range<usize>>) {
    out.clear();
    if chars.is_empty() {
        return;
    }
    let whole = 0..chars.len();
    match pre {
        PreTokenizer::Gpt2 => split_words(Words::Gpt2, chars, whole, out),
        PreTokenizer::Llama3 => split_words(Words::Llama3, chars, whole, out),
        PreTokenizer::Qwen2 => split_words(Words::Qwen2, chars, whole, out),
        PreTokenizer::Qwen35 => split_words(Words::Qwen35, chars, whole, out),
        PreTokenizer::Starcoder => {
            let mut pieces = Vec::new();
            split_matches(chars, whole, &mut pieces, |chars, i| usize::from(chars[i].is_number()));
            refine(&pieces, out, |piece, out| split_words(Words::Gpt2, chars, piece, out));
        }
        PreTokenizer::Default => {
            let mut a = Vec::new();
            split_matches(chars, whole, &mut a, |chars, i| {
                let end = chars[i..].iter().position(|ch| !is_default_punct(ch)).map_or(chars.len(), |n| i + n);
                end - i
            });
            let mut b = Vec::new();
            refine(&a, &mut b, |piece, out| split_words(Words::Gpt2, chars, piece, out));
            a.clear();
            refine(&b, &mut a, |piece, out| {
                split_matches(chars, piece, out, |chars, i| {
                    // The run must stop at the end of the piece, which `split_matches` passes as `chars`' end.
                    chars[i..].iter().take_while(|ch| ch.is_number()).count()
                })
            });
            refine(&a, out, |piece, out| {
                split_matches(chars, piece, out, |chars, i| {
                    if chars.len() - i >= 3 && chars[i..i + 3].iter().all(|ch| ch.c.is_ascii_digit()) { 3 } else { 0 }
                })
            });
        }
    }
}

/// `[\p{P}\$\+<=>\^~\|]`, the first pass of the default pre-tokenizer.
fn is_default_punct(ch: &CharInfo) -> bool {
    ch.class == Class::Punctuation || matches!(ch.c, '$' | '+' | '<' | '=' | '>' | '^' | '~' | '|')
}

/// Applies a splitting pass to every piece of a previous pass.
fn refine(
    pieces: &[Range<usize>],
    out: &mut Vec<Range<usize>>,
    mut pass: impl FnMut(Range<usize>, &mut Vec<Range<usize>>),
) {
    for piece in pieces {
        pass(piece.clone(), out);
    }
}

/// Splits `piece` around the leftmost non-overlapping matches of a pattern, keeping both the matches and the text
/// between them as pieces (what splitting by a regex's matches does). `match_len(chars, i)` gives the length of
/// the match starting at code point `i` (0 for none); it sees `chars` cut at the end of the piece, so a match
/// cannot run past it.
fn split_matches(
    chars: &[CharInfo],
    piece: Range<usize>,
    out: &mut Vec<Range<usize>>,
    match_len: impl Fn(&[CharInfo], usize) -> usize,
) {
    let chars = &chars[..piece.end];
    let mut gap_start = piece.start;
    let mut i = piece.start;
    while i < piece.end {
        let n = match_len(chars, i);
        if n == 0 {
            i += 1;
            continue;
        }
        if gap_start < i {
            out.push(gap_start..i);
        }
        out.push(i..i + n);
        i += n;
        gap_start = i;
    }
    if gap_start < piece.end {
        out.push(gap_start..piece.end);
    }
}

/// The contraction at `i` (`'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`), if any: its length in code points.
fn contraction(chars: &[CharInfo], i: usize, end: usize, case_insensitive: bool) -> usize {
    if chars[i].c != '\'' || i + 1 >= end {
        return 0;
    }
    let fold = |c: char| if case_insensitive { c.to_ascii_lowercase() } else { c };
    let c1 = fold(chars[i + 1].c);
    if matches!(c1, 's' | 't' | 'm' | 'd') {
        return 2;
    }
    if i + 2 < end {
        let c2 = fold(chars[i + 2].c);
        if matches!((c1, c2), ('r', 'e') | ('v', 'e') | ('l', 'l')) {
            return 3;
        }
    }
    0
}

/// One pass of a GPT-2-family regex over `piece`, pushing each word's range. Positions at or past `piece.end`
/// count as "nothing": lookaheads fail and runs stop there.
fn split_words(words: Words, chars: &[CharInfo], piece: Range<usize>, out: &mut Vec<Range<usize>>) {
    let end = piece.end;
    let at = |i: usize| if i < end { Some(&chars[i]) } else { None };
    let is = |i: usize, f: fn(&CharInfo) -> bool| at(i).is_some_and(f);
    // What words are made of: letters, and for Qwen 3.5 combining marks too.
    let wordy: fn(&CharInfo) -> bool =
        if words == Words::Qwen35 { |c| c.is_letter() || c.class == Class::Mark } else { CharInfo::is_letter };
    let not_space_letter_number: fn(&CharInfo) -> bool = if words == Words::Qwen35 {
        |c| !(c.whitespace || c.is_letter() || c.class == Class::Mark || c.is_number())
    } else {
        |c| !(c.whitespace || c.is_letter() || c.is_number())
    };

    let mut pos = piece.start;
    while pos < end {
        let start = pos;
        let ch = chars[pos];

        let n = contraction(chars, pos, end, words != Words::Gpt2);
        if n > 0 {
            out.push(start..start + n);
            pos += n;
            continue;
        }

        match words {
            Words::Gpt2 => {
                // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: the optional space, then a run of one kind.
                let first = if ch.c == ' ' { pos + 1 } else { pos };
                if let Some(next) = at(first) {
                    let run: Option<fn(&CharInfo) -> bool> = if next.is_letter() {
                        Some(|c| c.is_letter())
                    } else if next.is_number() {
                        Some(|c| c.is_number())
                    } else if not_space_letter_number(next) {
                        Some(|c| !(c.whitespace || c.is_letter() || c.is_number()))
                    } else {
                        None
                    };
                    if let Some(run) = run {
                        pos = first;
                        while is(pos, run) {
                            pos += 1;
                        }
                        out.push(start..pos);
                        continue;
                    }
                }
            }
            Words::Llama3 | Words::Qwen2 | Words::Qwen35 => {
                // `[^\r\n\p{L}\p{N}]?\p{L}+` (Qwen 3.5: `[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+`)
                if !(ch.c == '\r' || ch.c == '\n' || ch.is_number()) && (wordy(&ch) || is(pos + 1, wordy)) {
                    pos += 1;
                    while is(pos, wordy) {
                        pos += 1;
                    }
                    out.push(start..pos);
                    continue;
                }
                // `\p{N}{1,3}` (Llama 3) or `\p{N}` (Qwen)
                if ch.is_number() {
                    let max = if words == Words::Llama3 { 3 } else { 1 };
                    while is(pos, CharInfo::is_number) && pos - start < max {
                        pos += 1;
                    }
                    out.push(start..pos);
                    continue;
                }
                // ` ?[^\s\p{L}\p{N}]+[\r\n]*`: a space at the very end of the piece is taken alone here, which is
                // what `\s+(?!\S)` would have matched anyway.
                let first = if ch.c == ' ' { pos + 1 } else { pos };
                if at(first).is_none_or(not_space_letter_number) {
                    pos = first;
                    while is(pos, not_space_letter_number) {
                        pos += 1;
                    }
                    while at(pos).is_some_and(|c| c.c == '\r' || c.c == '\n') {
                        pos += 1;
                    }
                    out.push(start..pos);
                    continue;
                }
            }
        }

        // Whitespace: `\s*[\r\n]+` (Llama 3 / Qwen 2 only), `\s+(?!\S)`, `\s+`.
        let mut run_end = pos;
        let mut last_newline_end = None;
        while is(run_end, |c| c.whitespace) {
            if matches!(chars[run_end].c, '\r' | '\n') {
                last_newline_end = Some(run_end + 1);
            }
            run_end += 1;
        }
        let n = run_end - pos;
        pos = match last_newline_end {
            Some(e) if words != Words::Gpt2 => e,
            // More whitespace than one, followed by something: leave the last one to prefix the next word.
            _ if n > 1 && run_end < end => run_end - 1,
            _ if n > 0 => run_end,
            // Nothing matched (unreachable with the classes above, kept so the loop always advances).
            _ => pos + 1,
        };
        out.push(start..pos);
    }
}

#[cfg(test)]
mod tests {
    use super::super::unicode::char_infos;
    use super::*;

    fn words(pre: PreTokenizer, text: &str) -> Vec<String> {
        let mut chars = Vec::new();
        char_infos(text, &mut chars);
        let mut out = Vec::new();
        split(pre, &chars, &mut out);
        out.iter().map(|r| chars[r.clone()].iter().map(|c| c.c).collect()).collect()
    }

    #[test]
    fn qwen2_splits_digits_and_keeps_space_before_words() {
        assert_eq!(words(PreTokenizer::Qwen2, "Hello world 123!"), ["Hello", " world", " ", "1", "2", "3", "!"]);
        assert_eq!(words(PreTokenizer::Qwen2, "a   b"), ["a", "  ", " b"]);
        assert_eq!(words(PreTokenizer::Qwen2, "a  \n\n b"), ["a", "  \n\n", " b"]);
        assert_eq!(words(PreTokenizer::Qwen2, "don't I'M"), ["don", "'t", " I", "'M"]);
        assert_eq!(words(PreTokenizer::Qwen2, "end  "), ["end", "  "]);
        assert_eq!(words(PreTokenizer::Qwen2, "x = (y);\n"), ["x", " =", " (", "y", ");\n"]);
    }

    #[test]
    fn qwen35_keeps_combining_marks_in_words() {
        assert_eq!(words(PreTokenizer::Qwen2, "cafe\u{301} x"), ["cafe", "\u{301}", " x"]);
        assert_eq!(words(PreTokenizer::Qwen35, "cafe\u{301} x"), ["cafe\u{301}", " x"]);
        assert_eq!(words(PreTokenizer::Qwen35, "\u{301}\u{301}!"), ["\u{301}\u{301}", "!"]);
    }

    #[test]
    fn llama3_groups_digits_by_three() {
        assert_eq!(words(PreTokenizer::Llama3, "1234567"), ["123", "456", "7"]);
    }

    #[test]
    fn gpt2_contractions_are_case_sensitive() {
        assert_eq!(words(PreTokenizer::Gpt2, "I'M don't"), ["I", "'", "M", " don", "'t"]);
        assert_eq!(words(PreTokenizer::Gpt2, "a 12 b"), ["a", " 12", " b"]);
    }

    #[test]
    fn default_passes() {
        assert_eq!(words(PreTokenizer::Default, "x+=12345"), ["x", "+=", "123", "45"]);
        assert_eq!(words(PreTokenizer::Starcoder, "ab 12"), ["ab", " ", "1", "2"]);
    }
}
