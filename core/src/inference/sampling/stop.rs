//! Stop strings over a stream of text deltas.
//!
//! A stop string may arrive split over any number of deltas, so text that could still turn out to be the start
//! of one is held back; clients must never see any part of a stop string (OpenAI's `stop` semantics).
//!
//! Which stop wins: the one that *completes first* in the stream (ties: the one starting earliest, i.e. the
//! longest). That makes the result independent of how the text was cut into deltas: stops `"abcd"` and `"bc"`
//! on `"abcd"` always stop after `"a"`, whether it arrives in one delta or four. It also means that of two stops
//! where one is a prefix of the other, the shorter always wins.
//!
//! Cost: only the held tail (shorter than the longest stop string) plus the new delta is searched, so a push is
//! O((longest stop + delta) × stops) plus O(longest stop²) to find the new tail, independent of how much text
//! came before.

/// What a [`StopMatcher::push`] lets through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StopCheck {
    /// Text that is safe to send now (possibly empty while a possible stop string is held back).
    pub emit: String,
    /// A stop string completed: `emit` ends right before it and the generation should end.
    pub stopped: bool,
}

/// Holds back text that might be the beginning of a stop string; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct StopMatcher {
    stops: Vec<String>,
    /// Not yet emitted: the longest suffix of the text so far that is a proper prefix of some stop string.
    held: String,
    /// Index into `stops` of the stop string that ended the stream.
    matched: Option<usize>,
}

impl StopMatcher {
    /// A matcher for `stops`; empty strings (which would match everywhere) and duplicates are ignored.
    pub fn new(stops: &[String]) -> Self {
        let mut unique: Vec<String> = Vec::with_capacity(stops.len());
        for s in stops {
            if !s.is_empty() && !unique.contains(s) {
                unique.push(s.clone());
            }
        }
        StopMatcher { stops: unique, held: String::new(), matched: None }
    }

    /// Whether a stop string has been seen (everything pushed afterwards is dropped).
    pub fn is_stopped(&self) -> bool {
        self.matched.is_some()
    }

    /// The stop string that ended the stream, if any.
    pub fn matched(&self) -> Option<&str> {
        self.matched.and_then(|i| self.stops.get(i)).map(String::as_str)
    }

    /// Text currently held back because it may be the start of a stop string.
    pub fn held(&self) -> &str {
        &self.held
    }

    /// Feeds the next delta; returns what may be sent now.
    pub fn push(&mut self, text: &str) -> StopCheck {
        if self.matched.is_some() {
            return StopCheck { emit: String::new(), stopped: true };
        }
        if self.stops.is_empty() {
            return StopCheck { emit: text.to_owned(), stopped: false };
        }
        self.held.push_str(text);

        // The stop that completes first: smallest end, then smallest start. The first occurrence of each stop
        // is its earliest-ending one, since all its occurrences have the same length.
        let mut best: Option<(usize, usize, usize)> = None; // (end, start, index)
        for (i, stop) in self.stops.iter().enumerate() {
            if let Some(start) = self.held.find(stop.as_str()) {
                let candidate = (start + stop.len(), start, i);
                if best.is_none_or(|b| (candidate.0, candidate.1) < (b.0, b.1)) {
                    best = Some(candidate);
                }
            }
        }
        if let Some((_, start, i)) = best {
            self.matched = Some(i);
            let mut emit = std::mem::take(&mut self.held);
            emit.truncate(start);
            return StopCheck { emit, stopped: true };
        }

        let keep = self.longest_stop_prefix_suffix();
        let cut = self.held.len() - keep;
        let rest = self.held.split_off(cut);
        let emit = std::mem::replace(&mut self.held, rest);
        StopCheck { emit, stopped: false }
    }

    /// The stream ended without (further) text: releases whatever was held back. Empty after a stop.
    pub fn flush(&mut self) -> String {
        if self.matched.is_some() {
            self.held.clear();
            return String::new();
        }
        std::mem::take(&mut self.held)
    }

    /// Length in bytes of the longest suffix of `held` that is a proper prefix of a stop string. Such a suffix
    /// always starts on a character boundary: stop strings are valid UTF-8, so their prefixes never begin with a
    /// continuation byte.
    fn longest_stop_prefix_suffix(&self) -> usize {
        let held = self.held.as_bytes();
        let mut best = 0;
        for stop in &self.stops {
            let stop = stop.as_bytes();
            let longest = (stop.len() - 1).min(held.len());
            for k in (best + 1..=longest).rev() {
                if held.ends_with(&stop[..k]) {
                    best = k;
                    break;
                }
            }
        }
        // Defensive: never split a character even if the reasoning above were wrong.
        while best > 0 && !self.held.is_char_boundary(self.held.len() - best) {
            best -= 1;
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(stops: &[&str]) -> StopMatcher {
        StopMatcher::new(&stops.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn held_tail_is_the_longest_possible_stop_start() {
        let mut m = matcher(&["abc", "bcd"]);
        assert_eq!(m.push("xab").emit, "x");
        assert_eq!(m.held(), "ab");
        // "abc" fails at "x", but nothing of "abx" can start a stop.
        assert_eq!(m.push("x").emit, "abx");
        assert_eq!(m.held(), "");
        assert_eq!(m.push("zbc").emit, "z");
        assert_eq!(m.held(), "bc");
        let end = m.push("d");
        assert_eq!(end, StopCheck { emit: String::new(), stopped: true });
        assert_eq!(m.matched(), Some("bcd"));
    }

    #[test]
    fn no_stops_passes_through() {
        let mut m = matcher(&["", ""]);
        assert_eq!(m.push("abc"), StopCheck { emit: "abc".into(), stopped: false });
        assert_eq!(m.flush(), "");
    }
}
