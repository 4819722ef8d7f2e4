//! Splitting text on special-token strings before the tokenizer proper sees it, so `<|im_start|>` in a prompt
//! becomes its one id instead of being spelled out.
//!
//! llama.cpp does this token by token, longest token text first: it cuts every leftmost non-overlapping
//! occurrence of the token out of the still-unsplit text, then moves on to the next token. Ids depend on that order
//! (a shorter token never matches across a piece a longer one took, and in `abcd` a special `bcd` beats a special
//! `ab`), so this module computes the same result. It does not try all of a vocabulary's special tokens on the text
//! (Gemma has 6,400): one pass with a byte trie finds which special tokens occur at all, and where first and last,
//! and only those are then searched for, in llama.cpp's order, between those bounds, skipping bytes already taken.
//!
//! Among special tokens of equal length llama.cpp's order is unspecified (it sorts with `std::sort`); the lowest id
//! goes first here. Only overlapping occurrences of two equal-length special tokens could tell the difference.

/// A piece of the input after splitting on special tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fragment<'a> {
    /// Text to tokenize normally.
    Text(&'a str),
    /// A special token found verbatim in the text.
    Token(u32),
}

/// One special token, in matching order.
#[derive(Debug, Clone, Copy)]
pub(super) struct Special {
    pub id: u32,
    pub len: u32,
    /// Also matched when the caller did not ask to parse special tokens (user-defined tokens are, control and
    /// unknown ones are not).
    pub always: bool,
    /// Whitespace before / after the token is dropped (llama.cpp's LSTRIP / RSTRIP token attributes).
    pub lstrip: bool,
    pub rstrip: bool,
}

/// The special tokens of a vocabulary and a trie over their texts.
#[derive(Debug)]
pub(super) struct SpecialTokens {
    /// Longest text first, then lowest id: the order llama.cpp tries them in.
    tokens: Vec<Special>,
    /// Their texts, in the same order.
    texts: Vec<Box<str>>,
    /// Trie: the children of node `i` are `edges[first_edge[i]..first_edge[i + 1]]`, as (byte, child node),
    /// sorted by byte. Node 0 is the root.
    edges: Vec<(u8, u32)>,
    first_edge: Vec<u32>,
    /// Per node: the index in `tokens` of the token whose text ends there.
    terminal: Vec<Option<u32>>,
    /// The root's children by byte, to skip most positions of the text with one lookup.
    root: [Option<u32>; 256],
}

/// The bytes C's `isspace` accepts, which is what llama.cpp strips around LSTRIP / RSTRIP tokens.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

impl SpecialTokens {
    /// Builds the matcher from `(text, token)` pairs in any order; empty texts are ignored.
    pub fn new<'t>(specials: impl IntoIterator<Item = (&'t str, Special)>) -> SpecialTokens {
        let mut list: Vec<(&str, Special)> = specials.into_iter().filter(|(text, _)| !text.is_empty()).collect();
        list.sort_by(|a, b| b.1.len.cmp(&a.1.len).then(a.1.id.cmp(&b.1.id)));

        // A trie with sorted children: build it as (node, byte) -> child, then lay the children out per node.
        let mut children: std::collections::BTreeMap<(u32, u8), u32> = std::collections::BTreeMap::new();
        let mut terminal: Vec<Option<u32>> = vec![None];
        for (index, (text, _)) in list.iter().enumerate() {
            let mut node = 0u32;
            for &b in text.as_bytes() {
                let next = terminal.len() as u32;
                node = *children.entry((node, b)).or_insert(next);
                if node == next {
                    terminal.push(None);
                }
            }
            // Token texts are unique, so no node ends two tokens.
            terminal[node as usize] = Some(index as u32);
        }
        let n_nodes = terminal.len();
        let mut first_edge = Vec::with_capacity(n_nodes + 1);
        let mut edges = Vec::with_capacity(children.len());
        let mut iter = children.into_iter().peekable();
        for node in 0..n_nodes as u32 {
            first_edge.push(edges.len() as u32);
            while let Some(((_, b), child)) = iter.next_if(|((parent, _), _)| *parent == node) {
                edges.push((b, child));
            }
        }
        first_edge.push(edges.len() as u32);
        let mut root = [None; 256];
        for &(b, child) in &edges[..first_edge[1] as usize] {
            root[usize::from(b)] = Some(child);
        }
        SpecialTokens {
            tokens: list.iter().map(|(_, s)| *s).collect(),
            texts: list.iter().map(|(t, _)| Box::from(*t)).collect(),
            edges,
            first_edge,
            terminal,
            root,
        }
    }

    fn child(&self, node: u32, b: u8) -> Option<u32> {
        let edges = &self.edges[self.first_edge[node as usize] as usize..self.first_edge[node as usize + 1] as usize];
        edges.iter().find(|e| e.0 == b).map(|e| e.1)
    }

    /// Sets the LSTRIP / RSTRIP behaviour of a token (model-specific rules applied after loading).
    pub fn set_strip(&mut self, id: u32, lstrip: Option<bool>, rstrip: Option<bool>) {
        for t in self.tokens.iter_mut().filter(|t| t.id == id) {
            t.lstrip = lstrip.unwrap_or(t.lstrip);
            t.rstrip = rstrip.unwrap_or(t.rstrip);
        }
    }

    /// Ids of all special tokens that take part in splitting.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.tokens.iter().map(|t| t.id)
    }

    /// Splits `text` into text fragments and special tokens, appending to `out`. With `parse_special` false only
    /// the tokens marked `always` are recognised.
    pub fn partition<'a>(&self, text: &'a str, parse_special: bool, out: &mut Vec<Fragment<'a>>) {
        let bytes = text.as_bytes();

        // Which special tokens occur (as indexes into `tokens`, which is llama.cpp's order), and the first and last
        // position where they do.
        let mut present: Vec<u32> = Vec::new();
        let mut span: Vec<(u32, u32)> = vec![(u32::MAX, 0); self.tokens.len()];
        for pos in 0..bytes.len() {
            let Some(mut node) = self.root[usize::from(bytes[pos])] else {
                continue;
            };
            let mut next = pos + 1;
            loop {
                if let Some(index) = self.terminal[node as usize] {
                    let i = index as usize;
                    if parse_special || self.tokens[i].always {
                        if span[i].0 == u32::MAX {
                            span[i].0 = pos as u32;
                            present.push(index);
                        }
                        span[i].1 = pos as u32;
                    }
                }
                match bytes.get(next).and_then(|&b| self.child(node, b)) {
                    Some(child) => node = child,
                    None => break,
                }
                next += 1;
            }
        }
        if present.is_empty() {
            if !text.is_empty() {
                out.push(Fragment::Text(text));
            }
            return;
        }
        present.sort_unstable();

        // Bytes taken by a special token or stripped next to one.
        let mut taken = vec![false; bytes.len()];
        let mut found: Vec<(usize, u32)> = Vec::new();
        for index in present {
            let token = self.tokens[index as usize];
            let needle = &*self.texts[index as usize];
            let len = needle.len();
            let (first, last) = span[index as usize];
            let (mut from, until) = (first as usize, last as usize + len);
            // `from` is always the start of an occurrence, or just past a taken byte or a match, so on a char
            // boundary; `until` is the end of the last occurrence.
            while let Some(pos) = text.get(from..until).and_then(|rest| rest.find(needle)).map(|p| p + from) {
                let end = pos + len;
                if let Some(last_taken) = taken[pos..end].iter().rposition(|&t| t) {
                    // Overlaps what an earlier token took: the next candidate starts after that.
                    from = pos + last_taken + 1;
                    while from < bytes.len() && !text.is_char_boundary(from) {
                        from += 1;
                    }
                    continue;
                }
                taken[pos..end].fill(true);
                found.push((pos, index));
                if token.rstrip {
                    let mut q = end;
                    while q < bytes.len() && !taken[q] && is_c_space(bytes[q]) {
                        taken[q] = true;
                        q += 1;
                    }
                }
                if token.lstrip {
                    let mut q = pos;
                    while q > 0 && !taken[q - 1] && is_c_space(bytes[q - 1]) {
                        q -= 1;
                        taken[q] = true;
                    }
                }
                from = end;
            }
        }
        found.sort_unstable();

        let mut cursor = 0;
        for (pos, index) in found {
            let token = self.tokens[index as usize];
            push_text(text, &taken, cursor, pos, out);
            out.push(Fragment::Token(token.id));
            cursor = pos + token.len as usize;
        }
        push_text(text, &taken, cursor, bytes.len(), out);
    }
}

/// Pushes the text between two tokens, which is one run less any whitespace stripped at either end.
fn push_text<'a>(text: &'a str, taken: &[bool], from: usize, to: usize, out: &mut Vec<Fragment<'a>>) {
    let mut a = from;
    let mut b = to;
    while a < b && taken[a] {
        a += 1;
    }
    while b > a && taken[b - 1] {
        b -= 1;
    }
    // Cuts are next to special-token texts or ASCII whitespace, so they fall on char boundaries.
    if let Some(s) = text.get(a..b).filter(|s| !s.is_empty()) {
        out.push(Fragment::Text(s));
    }
}
