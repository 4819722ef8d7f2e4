//! A server-sent events decoder (the WHATWG "event stream" format) that is fed raw body bytes as they arrive.
//!
//! Network chunks cut anywhere: inside a line, between `\r` and `\n`, inside a UTF-8 character. The decoder
//! keeps the unfinished line as bytes and only decodes whole lines (a line break is never part of a multi-byte
//! character), so no cut can corrupt text. Lines end with `\n`, `\r\n` or a lone `\r`; `:` lines are comments;
//! `data:` lines of one event are joined with `\n`; a blank line ends the event. `event:` names the event
//! (OpenAI never does, but some compatible servers send `event: error`); `id:` and `retry:` are ignored.

use std::mem::take;

/// Longest line or event the decoder holds before giving up (a server that never sends a line break).
const MAX_PENDING: usize = 16 * 1024 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SseEvent {
    /// The `event:` field; `message` when there was none.
    pub event: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

/// The stream holds a line or an event larger than [`MAX_PENDING`].
#[derive(Debug)]
pub(super) struct TooLong;

#[derive(Debug, Default)]
pub(super) struct SseDecoder {
    /// The bytes of the line not yet ended.
    line: Vec<u8>,
    /// The data of the event not yet dispatched, each line followed by `\n`.
    data: String,
    event: String,
    /// The last byte seen was `\r`: a `\n` right after it belongs to the same line break.
    after_cr: bool,
    /// At least one line was decoded (a byte order mark is only skipped before the first).
    started: bool,
}

impl SseDecoder {
    pub(super) fn new() -> Self {
        SseDecoder::default()
    }

    /// Feeds the next piece of the body; events it completes are appended to `out`.
    pub(super) fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), TooLong> {
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    start = i + 1;
                    continue;
                }
            }
            if b == b'\n' || b == b'\r' {
                self.line.extend_from_slice(&bytes[start..i]);
                let line = take(&mut self.line);
                self.on_line(&line, out);
                self.after_cr = b == b'\r';
                start = i + 1;
            }
        }
        self.line.extend_from_slice(&bytes[start..]);
        if self.line.len() > MAX_PENDING || self.data.len() > MAX_PENDING {
            return Err(TooLong);
        }
        Ok(())
    }

    /// The body ended: an unfinished last line and event are dispatched as if a blank line had followed. (The
    /// standard drops them, but some servers close right after `data: [DONE]` without the blank line.)
    pub(super) fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if !self.line.is_empty() {
            let line = take(&mut self.line);
            self.on_line(&line, out);
        }
        self.dispatch(out);
    }

    fn on_line(&mut self, raw: &[u8], out: &mut Vec<SseEvent>) {
        let decoded = String::from_utf8_lossy(raw);
        let mut line: &str = &decoded;
        if !self.started {
            self.started = true;
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "event" => value.clone_into(&mut self.event),
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let mut data = take(&mut self.data);
        let event = take(&mut self.event);
        if data.is_empty() {
            return;
        }
        data.pop();
        out.push(SseEvent { event: if event.is_empty() { "message".to_owned() } else { event }, data });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(pieces: &[&[u8]]) -> Vec<SseEvent> {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        for piece in pieces {
            assert!(decoder.feed(piece, &mut out).is_ok());
        }
        decoder.finish(&mut out);
        out
    }

    fn msg(data: &str) -> SseEvent {
        SseEvent { event: "message".into(), data: data.into() }
    }

    const SAMPLE: &str = "\u{feff}: keep-alive\r\n\r\ndata: {\"a\":\r\ndata:\"h\u{e9}llo \u{1f600}\"}\r\n\r\nevent: error\ndata: oops\n\n\
                          id: 7\rretry: 10\rdata: cr only\r\rdata: [DONE]\n\n";

    fn sample_events() -> Vec<SseEvent> {
        vec![
            msg("{\"a\":\n\"h\u{e9}llo \u{1f600}\"}"),
            SseEvent { event: "error".into(), data: "oops".into() },
            msg("cr only"),
            msg("[DONE]"),
        ]
    }

    #[test]
    fn whole_stream() {
        assert_eq!(decode_in_pieces(&[SAMPLE.as_bytes()]), sample_events());
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let bytes = SAMPLE.as_bytes();
        for cut in 0..=bytes.len() {
            assert_eq!(decode_in_pieces(&[&bytes[..cut], &bytes[cut..]]), sample_events(), "cut at {cut}");
        }
    }

    #[test]
    fn byte_by_byte() {
        let pieces: Vec<&[u8]> = SAMPLE.as_bytes().chunks(1).collect();
        assert_eq!(decode_in_pieces(&pieces), sample_events());
    }

    #[test]
    fn unterminated_last_event_is_kept() {
        assert_eq!(decode_in_pieces(&[b"data: a\n\ndata: [DONE]"]), vec![msg("a"), msg("[DONE]")]);
    }

    #[test]
    fn no_space_after_colon_and_empty_data() {
        assert_eq!(decode_in_pieces(&[b"data:x\n\ndata\n\n:c\n\n"]), vec![msg("x"), msg("")]);
    }

    #[test]
    fn a_line_without_end_is_bounded() {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        let big = vec![b'x'; MAX_PENDING + 1];
        assert!(decoder.feed(&big, &mut out).is_err());
    }
}
