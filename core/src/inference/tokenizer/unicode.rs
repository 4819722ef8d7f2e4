//! Code point classes for the pre-tokenizers: the `\p{L}`, `\p{N}`, `\p{P}`... of their regexes, and `\s`.
//!
//! llama.cpp classifies code points with tables from Unicode 15.1, and token ids depend on it (a letter that
//! Unicode 16 added is "undefined" there, so it splits words differently), so the classes come from our own
//! generated table of Unicode 15.1 ([`super::unicode_table`], made by `gen_unicode_table.py`) rather than from the
//! Unicode version of whatever regex engine or standard library is at hand.

use super::unicode_table::{RANGE_CLASSES, RANGE_STARTS};

/// A code point's general category, reduced to its major class (`\p{L}`, `\p{N}`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    /// Unassigned in Unicode 15.1 (`Cn`).
    Undefined,
    Number,
    Letter,
    Separator,
    Mark,
    Punctuation,
    Symbol,
    /// Controls, format characters, private use and surrogates (`Cc`, `Cf`, `Co`, `Cs`).
    Control,
}

impl Class {
    fn from_u8(v: u8) -> Class {
        match v {
            1 => Class::Number,
            2 => Class::Letter,
            3 => Class::Separator,
            4 => Class::Mark,
            5 => Class::Punctuation,
            6 => Class::Symbol,
            7 => Class::Control,
            _ => Class::Undefined,
        }
    }
}

/// The class of `c`. ASCII is answered without a table lookup since it dominates most text.
pub(super) fn class(c: char) -> Class {
    if c.is_ascii() {
        return match c {
            'a'..='z' | 'A'..='Z' => Class::Letter,
            '0'..='9' => Class::Number,
            ' ' => Class::Separator,
            '$' | '+' | '<' | '=' | '>' | '^' | '`' | '|' | '~' => Class::Symbol,
            '!'..='~' => Class::Punctuation,
            _ => Class::Control,
        };
    }
    let cp = u32::from(c);
    let i = RANGE_STARTS.partition_point(|&start| start <= cp);
    // RANGE_STARTS[0] is 0, so i >= 1.
    Class::from_u8(RANGE_CLASSES.get(i.wrapping_sub(1)).copied().unwrap_or(0))
}

/// `\s` as llama.cpp defines it: Unicode's White_Space property, which is exactly what `char::is_whitespace`
/// tests (U+0009..U+000D, U+0020, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
pub(super) fn is_whitespace(c: char) -> bool {
    c.is_whitespace()
}

/// What the pre-tokenizers need to know about one code point, computed once per code point of the input.
#[derive(Debug, Clone, Copy)]
pub(super) struct CharInfo {
    pub c: char,
    /// Byte offset of the code point in the text being split.
    pub offset: u32,
    pub class: Class,
    pub whitespace: bool,
}

impl CharInfo {
    pub fn is_letter(&self) -> bool {
        self.class == Class::Letter
    }

    pub fn is_number(&self) -> bool {
        self.class == Class::Number
    }
}

/// Decodes `text` into per-code-point infos (appending to `out`, which is cleared first).
pub(super) fn char_infos(text: &str, out: &mut Vec<CharInfo>) {
    out.clear();
    out.reserve(text.len());
    for (offset, c) in text.char_indices() {
        // Offsets saturate past 4 GiB (unsupported, see `Tokenizer::encode`), which keeps them ordered.
        let offset = u32::try_from(offset).unwrap_or(u32::MAX);
        out.push(CharInfo { c, offset, class: class(c), whitespace: is_whitespace(c) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_fast_path_agrees_with_the_table() {
        for cp in 0u32..128 {
            let c = char::from_u32(cp).unwrap_or('\0');
            let i = RANGE_STARTS.partition_point(|&start| start <= cp);
            assert_eq!(class(c), Class::from_u8(RANGE_CLASSES[i - 1]), "U+{cp:04X}");
        }
    }

    #[test]
    fn table_is_sorted_and_starts_at_zero() {
        assert_eq!(RANGE_STARTS[0], 0);
        assert!(RANGE_STARTS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(RANGE_STARTS.len(), RANGE_CLASSES.len());
    }

    #[test]
    fn classes_of_some_code_points() {
        assert_eq!(class('é'), Class::Letter);
        assert_eq!(class('中'), Class::Letter);
        assert_eq!(class('٣'), Class::Number); // Arabic-Indic digit three
        assert_eq!(class('Ⅻ'), Class::Number); // Nl
        assert_eq!(class('\u{0301}'), Class::Mark); // combining acute accent
        assert_eq!(class('。'), Class::Punctuation);
        assert_eq!(class('€'), Class::Symbol);
        assert_eq!(class('😀'), Class::Symbol);
        assert_eq!(class('\u{200D}'), Class::Control); // zero width joiner (Cf)
        assert_eq!(class('\u{3000}'), Class::Separator);
        // Unicode 16.0 additions are unassigned in llama.cpp's Unicode 15.1 tables.
        assert_eq!(class('\u{1C89}'), Class::Undefined);
        // Unicode 15.1 additions are assigned (CJK Extension I).
        assert_eq!(class('\u{2EBF0}'), Class::Letter);
    }

    #[test]
    fn whitespace_is_unicode_white_space() {
        let expected: Vec<u32> = (0x09..=0x0D)
            .chain([0x20, 0x85, 0xA0, 0x1680])
            .chain(0x2000..=0x200A)
            .chain([0x2028, 0x2029, 0x202F, 0x205F, 0x3000])
            .collect();
        let found: Vec<u32> = (0..0x11_0000u32).filter(|&cp| char::from_u32(cp).is_some_and(is_whitespace)).collect();
        assert_eq!(found, expected);
    }
}
