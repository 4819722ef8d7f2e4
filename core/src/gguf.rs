//! Reading GGUF model metadata: header, key/value metadata and tensor infos, never tensor data.
//!
//! Jan summarises user-supplied `.gguf` files (architecture, context length, quantization, parameter count, chat
//! template) when they are imported, before anything loads them, so this reader treats its input as hostile: it
//! never panics, sizes every allocation by bytes actually present in the file (strings by at most 16 MiB), limits
//! array nesting, and reports a malformed or truncated file as [`Error::InvalidGguf`] saying where reading
//! stopped. Long arrays (a 262144-token vocabulary) are skipped by default; see [`ReadOptions`].
//!
//! Metadata keys and tensor names must be UTF-8: they are identifiers, and a bad one means a corrupt file. String
//! *values* are decoded lossily, so one odd byte in a token or a template does not make a model unimportable.
//!
//! GGUF versions 2 and 3 (little-endian) are read; version 1 and big-endian files are refused. [`writer`] builds
//! small valid files for tests.

use std::collections::{BTreeMap, HashSet};
use std::fmt::{self, Write as _};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{Error, Result};

const MAGIC: [u8; 4] = *b"GGUF";
const MAX_STRING_LEN: u64 = 16 << 20;
const MAX_ARRAY_DEPTH: u32 = 4;
const MAX_TENSORS: u64 = 1 << 20;
const MAX_KVS: u64 = 1 << 20;
const MAX_DIMS: u32 = 8;
const DEFAULT_ALIGNMENT: u64 = 32;
/// Vectors are never preallocated beyond this; they grow only as elements are actually read.
const MAX_PREALLOC: u64 = 4096;
/// Smallest encodings: a tensor info (empty name, no dims, type, offset) and a key/value (empty key, type, a u8).
const MIN_TENSOR_INFO: u64 = 8 + 4 + 4 + 8;
const MIN_KV: u64 = 8 + 4 + 1;
/// Skips up to this size are read through (keeping a `BufReader`'s buffer); longer ones seek.
const MAX_READ_SKIP: u64 = 64 << 10;

/// GGUF metadata value type ids.
mod ty {
    pub const U8: u32 = 0;
    pub const I8: u32 = 1;
    pub const U16: u32 = 2;
    pub const I16: u32 = 3;
    pub const U32: u32 = 4;
    pub const I32: u32 = 5;
    pub const F32: u32 = 6;
    pub const BOOL: u32 = 7;
    pub const STRING: u32 = 8;
    pub const ARRAY: u32 = 9;
    pub const U64: u32 = 10;
    pub const I64: u32 = 11;
    pub const F64: u32 = 12;
}

/// Encoded size of a fixed-size value type; `None` for strings, arrays and unknown types.
fn fixed_size(value_type: u32) -> Option<u64> {
    match value_type {
        ty::U8 | ty::I8 | ty::BOOL => Some(1),
        ty::U16 | ty::I16 => Some(2),
        ty::U32 | ty::I32 | ty::F32 => Some(4),
        ty::U64 | ty::I64 | ty::F64 => Some(8),
        _ => None,
    }
}

/// Smallest encoding of one value of a type (an empty string, an empty array); `None` for unknown types.
fn min_size(value_type: u32) -> Option<u64> {
    match value_type {
        ty::STRING => Some(8),
        ty::ARRAY => Some(4 + 8),
        other => fixed_size(other),
    }
}

/// A metadata value, as typed in the file.
///
/// Integer widths vary between converters for the same key, so read numbers through [`GgufValue::as_u64`] and
/// [`GgufValue::as_f64`] rather than matching one variant.
#[derive(Debug, Clone, PartialEq)]
pub enum GgufValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    /// Any non-zero byte reads as `true`.
    Bool(bool),
    /// Decoded lossily: invalid UTF-8 becomes U+FFFD.
    String(String),
    U64(u64),
    I64(i64),
    F64(f64),
    /// All elements have the same variant (nested arrays may differ in their own element type).
    Array(Vec<GgufValue>),
    /// An array longer than [`ReadOptions::max_array_len`], seeked over without being read, so summaries don't pay
    /// for vocabularies; its element type and length are kept because they are still informative.
    SkippedArray {
        elem_type: u32,
        len: u64,
    },
}

impl GgufValue {
    /// The value as an unsigned integer, whatever integer width the converter chose (`context_length` is u32 in
    /// some files and u64 in others); `None` for negative numbers and non-integers.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            GgufValue::U8(v) => Some(v.into()),
            GgufValue::U16(v) => Some(v.into()),
            GgufValue::U32(v) => Some(v.into()),
            GgufValue::U64(v) => Some(v),
            GgufValue::I8(v) => u64::try_from(v).ok(),
            GgufValue::I16(v) => u64::try_from(v).ok(),
            GgufValue::I32(v) => u64::try_from(v).ok(),
            GgufValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value if it is a string, e.g. `general.architecture`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            GgufValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// Any number as `f64` (64-bit integers may round), for settings such as RoPE bases or norm epsilons that
    /// converters store as either floats or integers.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            GgufValue::F32(v) => Some(v.into()),
            GgufValue::F64(v) => Some(v),
            GgufValue::U8(v) => Some(v.into()),
            GgufValue::I8(v) => Some(v.into()),
            GgufValue::U16(v) => Some(v.into()),
            GgufValue::I16(v) => Some(v.into()),
            GgufValue::U32(v) => Some(v.into()),
            GgufValue::I32(v) => Some(v.into()),
            GgufValue::U64(v) => Some(v as f64),
            GgufValue::I64(v) => Some(v as f64),
            _ => None,
        }
    }

    /// The GGUF type id this value is written with.
    fn type_id(&self) -> u32 {
        match self {
            GgufValue::U8(_) => ty::U8,
            GgufValue::I8(_) => ty::I8,
            GgufValue::U16(_) => ty::U16,
            GgufValue::I16(_) => ty::I16,
            GgufValue::U32(_) => ty::U32,
            GgufValue::I32(_) => ty::I32,
            GgufValue::F32(_) => ty::F32,
            GgufValue::Bool(_) => ty::BOOL,
            GgufValue::String(_) => ty::STRING,
            GgufValue::U64(_) => ty::U64,
            GgufValue::I64(_) => ty::I64,
            GgufValue::F64(_) => ty::F64,
            GgufValue::Array(_) | GgufValue::SkippedArray { .. } => ty::ARRAY,
        }
    }
}

/// (ggml type id, name, elements per block, bytes per block) from ggml.h and ggml-common.h. A block size of 0 marks
/// types whose layout this reader does not know: their data extent is not checked.
const GGML_TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 36),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (39, "MXFP4", 32, 17),
    (40, "NVFP4", 0, 0),
    (41, "Q1_0", 0, 0),
    (42, "Q2_0", 0, 0),
];

/// llama.cpp's `LLAMA_FTYPE_*` values (llama.h), as stored in `general.file_type`, with their usual names.
const FILE_TYPES: &[(u32, &str)] = &[
    (0, "F32"),
    (1, "F16"),
    (2, "Q4_0"),
    (3, "Q4_1"),
    (7, "Q8_0"),
    (8, "Q5_0"),
    (9, "Q5_1"),
    (10, "Q2_K"),
    (11, "Q3_K_S"),
    (12, "Q3_K_M"),
    (13, "Q3_K_L"),
    (14, "Q4_K_S"),
    (15, "Q4_K_M"),
    (16, "Q5_K_S"),
    (17, "Q5_K_M"),
    (18, "Q6_K"),
    (19, "IQ2_XXS"),
    (20, "IQ2_XS"),
    (21, "Q2_K_S"),
    (22, "IQ3_XS"),
    (23, "IQ3_XXS"),
    (24, "IQ1_S"),
    (25, "IQ4_NL"),
    (26, "IQ3_S"),
    (27, "IQ3_M"),
    (28, "IQ2_S"),
    (29, "IQ2_M"),
    (30, "IQ4_XS"),
    (31, "IQ1_M"),
    (32, "BF16"),
    (36, "TQ1_0"),
    (37, "TQ2_0"),
    (38, "MXFP4_MOE"),
    (39, "NVFP4"),
    (40, "Q1_0"),
];

/// The name of a ggml tensor type id (`"Q4_K"`), or `"unknown"` for ids newer than this table, so UIs can label
/// tensors without failing on new formats.
pub fn ggml_type_name(ggml_type: u32) -> &'static str {
    GGML_TYPES.iter().find(|t| t.0 == ggml_type).map_or("unknown", |t| t.1)
}

/// The name of a llama.cpp file type (`general.file_type`, e.g. 15 is `"Q4_K_M"`), the label users know models by;
/// `None` for unknown values.
pub fn file_type_name(file_type: u32) -> Option<&'static str> {
    FILE_TYPES.iter().find(|t| t.0 == file_type).map(|t| t.1)
}

/// Where one tensor's data lies and how it is shaped, as announced by the file (the data itself is never read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    /// Dimensions, innermost first (ggml's `ne`).
    pub dims: Vec<u64>,
    /// ggml type id; see [`TensorInfo::type_name`].
    pub ggml_type: u32,
    /// Offset of the data from [`GgufInfo::data_offset`].
    pub offset: u64,
}

impl TensorInfo {
    /// Number of elements (the product of the dimensions, saturating), for parameter counts.
    pub fn elements(&self) -> u64 {
        self.dims.iter().fold(1u64, |n, &d| n.saturating_mul(d))
    }

    /// The tensor type's name (`"Q4_K"`), or `"unknown"`.
    pub fn type_name(&self) -> &'static str {
        ggml_type_name(self.ggml_type)
    }

    /// Size of the data in bytes: `Ok(None)` for types of unknown layout, `Err` for impossible shapes.
    fn data_size(&self) -> std::result::Result<Option<u64>, String> {
        let Some(&(_, type_name, block, block_bytes)) = GGML_TYPES.iter().find(|t| t.0 == self.ggml_type) else {
            return Ok(None);
        };
        if block == 0 {
            return Ok(None);
        }
        let row = self.dims.first().copied().unwrap_or(1);
        if row % block != 0 {
            return Err(format!(
                "tensor '{}' has rows of {row} elements, not a multiple of the {type_name} block size {block}",
                short(&self.name)
            ));
        }
        let rows = self.dims.iter().skip(1).try_fold(1u64, |n, &d| n.checked_mul(d));
        rows.and_then(|rows| (row / block).checked_mul(block_bytes)?.checked_mul(rows))
            .map(Some)
            .ok_or_else(|| format!("tensor '{}' has impossibly large dimensions {:?}", short(&self.name), self.dims))
    }
}

/// Everything a GGUF file says about itself before its tensor data.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufInfo {
    /// GGUF format version (2 or 3).
    pub version: u32,
    pub metadata: BTreeMap<String, GgufValue>,
    pub tensors: Vec<TensorInfo>,
    /// Where tensor data starts, from the beginning of the file: the end of the tensor infos, aligned to
    /// `general.alignment` (default 32).
    pub data_offset: u64,
}

impl GgufInfo {
    /// A metadata value by key.
    pub fn get(&self, key: &str) -> Option<&GgufValue> {
        self.metadata.get(key)
    }

    fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_str()
    }

    /// `general.architecture` (`"llama"`, `"gemma3"`, ...), which also prefixes the model's hyperparameter keys.
    pub fn architecture(&self) -> Option<&str> {
        self.get_str("general.architecture")
    }

    /// `general.name`, the human-readable model name the converter recorded.
    pub fn name(&self) -> Option<&str> {
        self.get_str("general.name")
    }

    /// `<architecture>.context_length`, the context the model was trained for: the ceiling for `ctx_size`.
    pub fn context_length(&self) -> Option<u64> {
        let arch = self.architecture()?;
        self.get(&format!("{arch}.context_length"))?.as_u64()
    }

    /// `tokenizer.chat_template`, the Jinja template that turns messages into a prompt.
    pub fn chat_template(&self) -> Option<&str> {
        self.get_str("tokenizer.chat_template")
    }

    /// Total number of weights (the sum of all tensors' elements, saturating), for "0.5B"-style labels.
    pub fn parameter_count(&self) -> u64 {
        self.tensors.iter().fold(0u64, |n, t| n.saturating_add(t.elements()))
    }

    /// `general.file_type`, llama.cpp's code for the file's overall quantization (see [`file_type_name`]).
    pub fn file_type(&self) -> Option<u32> {
        self.get("general.file_type")?.as_u64().and_then(|v| u32::try_from(v).ok())
    }

    /// The quantization label users know the model by (`"Q4_K_M"`): the name of `general.file_type`, or, when that
    /// is absent or unknown, the name of the tensor type holding the most elements (`"unknown"` without tensors).
    pub fn quantization(&self) -> String {
        if let Some(name) = self.file_type().and_then(file_type_name) {
            return name.to_owned();
        }
        let mut by_type = BTreeMap::<u32, u64>::new();
        for t in &self.tensors {
            let n = by_type.entry(t.ggml_type).or_default();
            *n = n.saturating_add(t.elements());
        }
        // Ties go to the lowest type id, so the answer is deterministic.
        by_type
            .into_iter()
            .max_by_key(|&(ty, n)| (n, std::cmp::Reverse(ty)))
            .map_or("unknown", |(ty, _)| ggml_type_name(ty))
            .to_owned()
    }
}

/// How much of the metadata to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Arrays with more elements than this are skipped (seeked over, not allocated) and recorded as
    /// [`GgufValue::SkippedArray`], so summarising a model does not decode its vocabulary. Default 4096.
    pub max_array_len: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { max_array_len: 4096 }
    }
}

impl ReadOptions {
    /// Keep every array, e.g. to read the vocabulary. Memory then grows with the size of the metadata (a value
    /// takes up to 32 bytes in memory per encoded byte), which is still bounded by the file.
    pub fn full() -> Self {
        ReadOptions { max_array_len: u64::MAX }
    }
}

/// Reads the metadata of the GGUF file at `path` (buffered; tensor data is never read).
pub fn read_info(path: &Path, opts: &ReadOptions) -> Result<GgufInfo> {
    let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let io_context = format!("reading {}", path.display());
    Parser::new(BufReader::with_capacity(64 << 10, file), *opts, &io_context)?.parse()
}

/// Reads GGUF metadata from `r`, starting at its current position (offsets are relative to it). Wrap unbuffered
/// sources in a [`BufReader`]: the reader makes many small reads.
pub fn read_info_from<R: Read + Seek>(r: R, opts: &ReadOptions) -> Result<GgufInfo> {
    Parser::new(r, *opts, "reading GGUF data")?.parse()
}

/// At most the first 80 characters of `s`, for error messages about untrusted strings.
pub(crate) fn short(s: &str) -> &str {
    s.char_indices().nth(80).map_or(s, |(i, _)| &s[..i])
}

fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

struct Parser<'a, R> {
    r: R,
    /// Bytes consumed so far, from where the stream started.
    pos: u64,
    /// Length of the stream from where it started.
    len: u64,
    opts: ReadOptions,
    /// What is being read, for error messages ("metadata entry 3 'general.name'").
    ctx: String,
    io_context: &'a str,
}

impl<'a, R: Read + Seek> Parser<'a, R> {
    fn new(mut r: R, opts: ReadOptions, io_context: &'a str) -> Result<Self> {
        let io_err = |e| Error::io(io_context, e);
        let start = r.stream_position().map_err(io_err)?;
        let end = r.seek(SeekFrom::End(0)).map_err(io_err)?;
        r.seek(SeekFrom::Start(start)).map_err(io_err)?;
        let len = end.saturating_sub(start);
        Ok(Parser { r, pos: 0, len, opts, ctx: String::new(), io_context })
    }

    fn set_ctx(&mut self, args: fmt::Arguments<'_>) {
        self.ctx.clear();
        let _ = self.ctx.write_fmt(args);
    }

    fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    fn invalid(&self, msg: impl fmt::Display) -> Error {
        Error::InvalidGguf(format!("{msg} ({}, byte {})", self.ctx, self.pos))
    }

    fn truncated(&self, what: &str) -> Error {
        Error::InvalidGguf(format!(
            "truncated at byte {} while reading {what} ({}); the file is incomplete",
            self.len, self.ctx
        ))
    }

    fn io_error(&self, e: io::Error, what: &str) -> Error {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            // The file shrank while being read.
            self.truncated(what)
        } else {
            Error::io(format!("{} (at byte {}, {what})", self.io_context, self.pos), e)
        }
    }

    fn fill(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        let n = buf.len() as u64;
        if n > self.remaining() {
            return Err(self.truncated(what));
        }
        self.r.read_exact(buf).map_err(|e| self.io_error(e, what))?;
        self.pos += n;
        Ok(())
    }

    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut buf = [0; N];
        self.fill(&mut buf, what)?;
        Ok(buf)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        self.bytes(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        self.bytes(what).map(u64::from_le_bytes)
    }

    fn skip(&mut self, n: u64, what: &str) -> Result<()> {
        if n > self.remaining() {
            return Err(self.truncated(what));
        }
        if n <= MAX_READ_SKIP {
            let copied = io::copy(&mut (&mut self.r).take(n), &mut io::sink()).map_err(|e| self.io_error(e, what))?;
            if copied != n {
                return Err(self.truncated(what));
            }
        } else {
            let delta = i64::try_from(n).map_err(|_| self.truncated(what))?;
            self.r.seek(SeekFrom::Current(delta)).map_err(|e| self.io_error(e, what))?;
        }
        self.pos += n;
        Ok(())
    }

    /// Reads a string's length and checks it against the string limit and the bytes left.
    fn string_len(&mut self, what: &str) -> Result<u64> {
        let len = self.u64("a string length")?;
        if len > MAX_STRING_LEN {
            return Err(self.invalid(format_args!("{what} of {len} bytes is longer than the 16 MiB limit")));
        }
        if len > self.remaining() {
            return Err(self.truncated(what));
        }
        Ok(len)
    }

    fn string_bytes(&mut self, what: &str) -> Result<Vec<u8>> {
        let len = self.string_len(what)?;
        // At most 16 MiB, and present in the file.
        let mut buf = vec![0; len as usize];
        self.fill(&mut buf, what)?;
        Ok(buf)
    }

    /// A key or tensor name: must be UTF-8.
    fn identifier(&mut self, what: &str) -> Result<String> {
        let bytes = self.string_bytes(what)?;
        String::from_utf8(bytes).map_err(|_| self.invalid(format_args!("{what} is not valid UTF-8")))
    }

    /// Reads one value of type `value_type`; `depth` counts the arrays it is nested in.
    fn value(&mut self, value_type: u32, depth: u32) -> Result<GgufValue> {
        Ok(match value_type {
            ty::U8 => GgufValue::U8(u8::from_le_bytes(self.bytes("a u8")?)),
            ty::I8 => GgufValue::I8(i8::from_le_bytes(self.bytes("an i8")?)),
            ty::U16 => GgufValue::U16(u16::from_le_bytes(self.bytes("a u16")?)),
            ty::I16 => GgufValue::I16(i16::from_le_bytes(self.bytes("an i16")?)),
            ty::U32 => GgufValue::U32(self.u32("a u32")?),
            ty::I32 => GgufValue::I32(i32::from_le_bytes(self.bytes("an i32")?)),
            ty::F32 => GgufValue::F32(f32::from_le_bytes(self.bytes("an f32")?)),
            ty::BOOL => GgufValue::Bool(self.bytes::<1>("a bool")?[0] != 0),
            ty::STRING => GgufValue::String(lossy(self.string_bytes("a string")?)),
            ty::U64 => GgufValue::U64(self.u64("a u64")?),
            ty::I64 => GgufValue::I64(i64::from_le_bytes(self.bytes("an i64")?)),
            ty::F64 => GgufValue::F64(f64::from_le_bytes(self.bytes("an f64")?)),
            ty::ARRAY => self.array(depth + 1)?,
            other => return Err(self.invalid(format_args!("unknown value type {other}"))),
        })
    }

    /// Reads an array header at nesting `depth` (1 for a top-level array) and checks that its elements can fit.
    fn array_header(&mut self, depth: u32) -> Result<(u32, u64)> {
        if depth > MAX_ARRAY_DEPTH {
            return Err(self.invalid(format_args!("arrays are nested more than {MAX_ARRAY_DEPTH} deep")));
        }
        let elem_type = self.u32("an array element type")?;
        let len = self.u64("an array length")?;
        let Some(min) = min_size(elem_type) else {
            return Err(self.invalid(format_args!("unknown array element type {elem_type}")));
        };
        if len.checked_mul(min).is_none_or(|need| need > self.remaining()) {
            return Err(self.invalid(format_args!(
                "an array of {len} elements of type {elem_type} cannot fit in the {} bytes left (truncated or corrupt file)",
                self.remaining()
            )));
        }
        Ok((elem_type, len))
    }

    fn array(&mut self, depth: u32) -> Result<GgufValue> {
        let (elem_type, len) = self.array_header(depth)?;
        if len > self.opts.max_array_len {
            self.skip_elements(elem_type, len, depth)?;
            return Ok(GgufValue::SkippedArray { elem_type, len });
        }
        let mut items = Vec::with_capacity(len.min(MAX_PREALLOC) as usize);
        for _ in 0..len {
            items.push(self.value(elem_type, depth)?);
        }
        Ok(GgufValue::Array(items))
    }

    /// Moves past `len` elements of an array at nesting `depth` without keeping them.
    fn skip_elements(&mut self, elem_type: u32, len: u64, depth: u32) -> Result<()> {
        if let Some(size) = fixed_size(elem_type) {
            // `array_header` checked that this product fits in the file.
            return self.skip(len.saturating_mul(size), "array elements");
        }
        for _ in 0..len {
            if elem_type == ty::STRING {
                let n = self.string_len("a string")?;
                self.skip(n, "a string")?;
            } else {
                let (inner_type, inner_len) = self.array_header(depth + 1)?;
                self.skip_elements(inner_type, inner_len, depth + 1)?;
            }
        }
        Ok(())
    }

    fn parse(mut self) -> Result<GgufInfo> {
        self.set_ctx(format_args!("the header"));
        let magic: [u8; 4] = self.bytes("the magic number")?;
        if magic != MAGIC {
            let legacy = matches!(&magic, b"lmgg" | b"fmgg" | b"tjgg");
            return Err(Error::InvalidGguf(if legacy {
                "this is a legacy GGML/GGJT model file, which predates GGUF; convert it with llama.cpp".into()
            } else {
                format!("the file starts with {magic:02x?}, not the GGUF magic \"GGUF\"")
            }));
        }
        let version = self.u32("the version")?;
        match version {
            2 | 3 => {}
            1 => {
                return Err(Error::InvalidGguf(
                    "GGUF version 1, an early draft of the format, is not supported; convert the model again \
                     with a current llama.cpp"
                        .into(),
                ));
            }
            v if matches!(v.swap_bytes(), 1..=3) => {
                return Err(Error::InvalidGguf("big-endian GGUF files are not supported".into()));
            }
            v => return Err(Error::InvalidGguf(format!("GGUF version {v} is not supported (only 2 and 3 are)"))),
        }

        let tensor_count = self.u64("the tensor count")?;
        let kv_count = self.u64("the metadata entry count")?;
        if tensor_count > MAX_TENSORS || kv_count > MAX_KVS {
            return Err(self.invalid(format_args!(
                "the header announces {tensor_count} tensors and {kv_count} metadata entries, more than the \
                 limits of {MAX_TENSORS} and {MAX_KVS}"
            )));
        }
        // Both counts are at most 2^20, so this cannot overflow.
        if tensor_count * MIN_TENSOR_INFO + kv_count * MIN_KV > self.remaining() {
            return Err(self.invalid(format_args!(
                "the header announces {tensor_count} tensors and {kv_count} metadata entries, which cannot fit in \
                 the {} bytes left (truncated or corrupt file)",
                self.remaining()
            )));
        }

        let mut metadata = BTreeMap::new();
        for i in 0..kv_count {
            self.set_ctx(format_args!("metadata entry {i}"));
            let key = self.identifier("a metadata key")?;
            self.set_ctx(format_args!("metadata entry {i} '{}'", short(&key)));
            let value_type = self.u32("a value type")?;
            let value = self.value(value_type, 0)?;
            if metadata.insert(key, value).is_some() {
                return Err(self.invalid("duplicate metadata key"));
            }
        }

        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(v) => v.as_u64().filter(|a| a.is_power_of_two()).ok_or_else(|| {
                let found = v.as_u64().map_or_else(|| "a value that is not an integer".to_owned(), |n| n.to_string());
                Error::InvalidGguf(format!("general.alignment must be a power of two, not {found}"))
            })?,
        };

        let mut tensors = Vec::with_capacity(tensor_count.min(MAX_PREALLOC) as usize);
        for i in 0..tensor_count {
            self.set_ctx(format_args!("tensor info {i}"));
            let name = self.identifier("a tensor name")?;
            self.set_ctx(format_args!("tensor info {i} '{}'", short(&name)));
            let n_dims = self.u32("the dimension count")?;
            if n_dims > MAX_DIMS {
                return Err(self.invalid(format_args!("{n_dims} dimensions (at most {MAX_DIMS} are allowed)")));
            }
            let dims = (0..n_dims).map(|_| self.u64("a dimension")).collect::<Result<Vec<_>>>()?;
            let ggml_type = self.u32("the tensor type")?;
            let offset = self.u64("the tensor data offset")?;
            if offset % alignment != 0 {
                return Err(self.invalid(format_args!("data offset {offset} is not a multiple of {alignment}")));
            }
            tensors.push(TensorInfo { name, dims, ggml_type, offset });
        }

        let data_offset = self
            .pos
            .checked_next_multiple_of(alignment)
            .ok_or_else(|| Error::InvalidGguf(format!("general.alignment {alignment} is too large")))?;
        let mut names = HashSet::with_capacity(tensors.len());
        for t in &tensors {
            if !names.insert(t.name.as_str()) {
                return Err(Error::InvalidGguf(format!("tensor '{}' appears twice", short(&t.name))));
            }
            let Some(size) = t.data_size().map_err(Error::InvalidGguf)? else { continue };
            let end = data_offset.checked_add(t.offset).and_then(|start| start.checked_add(size));
            if end.is_none_or(|end| end > self.len) {
                return Err(Error::InvalidGguf(format!(
                    "truncated at byte {}: the data of tensor '{}' ({size} bytes at offset {}) lies beyond the end \
                     of the file; the file is incomplete",
                    self.len,
                    short(&t.name),
                    t.offset
                )));
            }
        }
        Ok(GgufInfo { version, metadata, tensors, data_offset })
    }
}

/// A minimal GGUF v3 writer, a test helper: unit and integration tests (here and in crates built on this one) use
/// it to make tiny model files instead of shipping binaries. It is not meant for producing real models.
pub mod writer {
    use std::io::{self, Write};
    use std::path::Path;
    use std::sync::Arc;

    use super::{DEFAULT_ALIGNMENT, GgufValue, MAGIC, fixed_size, ty};
    use crate::error::Result;

    /// Builds a GGUF file: metadata in insertion order, then tensor infos, then tensor data aligned to
    /// `general.alignment` (32 unless set with a power-of-two integer). Nothing is validated, so tests can also
    /// write duplicate keys or odd versions on purpose.
    #[derive(Debug, Clone)]
    pub struct GgufWriter {
        version: u32,
        kvs: Vec<(String, GgufValue)>,
        tensors: Vec<Tensor>,
    }

    #[derive(Debug, Clone)]
    struct Tensor {
        name: String,
        dims: Vec<u64>,
        ggml_type: u32,
        data: Data,
    }

    /// Writes a tensor's bytes when the file is written.
    type Fill = Arc<dyn Fn(&mut dyn Write) -> io::Result<()> + Send + Sync>;

    #[derive(Clone)]
    enum Data {
        Bytes(Vec<u8>),
        /// `len` bytes that `Fill` produces: a tensor never held in memory whole.
        Later(u64, Fill),
    }

    impl Data {
        fn len(&self) -> u64 {
            match self {
                Data::Bytes(b) => b.len() as u64,
                Data::Later(len, _) => *len,
            }
        }
    }

    impl std::fmt::Debug for Data {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{} bytes", self.len())
        }
    }

    impl Default for GgufWriter {
        fn default() -> Self {
            GgufWriter { version: 3, kvs: Vec::new(), tensors: Vec::new() }
        }
    }

    impl GgufWriter {
        /// An empty version-3 file.
        pub fn new() -> Self {
            Self::default()
        }

        /// Sets the version written in the header (the layout stays v2/v3), to test version handling.
        pub fn version(&mut self, version: u32) -> &mut Self {
            self.version = version;
            self
        }

        /// Adds a metadata entry. An [`GgufValue::Array`]'s element type is its first element's (u8 when empty);
        /// a [`GgufValue::SkippedArray`] is written as `len` zero-filled elements (0, "", or empty arrays), which
        /// makes large arrays cheap to write (it panics if they do not fit in memory).
        pub fn kv(&mut self, key: impl Into<String>, value: GgufValue) -> &mut Self {
            self.kvs.push((key.into(), value));
            self
        }

        /// Adds an F32 tensor.
        ///
        /// # Panics
        /// If `data` does not hold exactly the product of `dims` elements.
        pub fn tensor_f32(&mut self, name: impl Into<String>, dims: &[u64], data: &[f32]) -> &mut Self {
            let elements = dims.iter().product::<u64>();
            assert_eq!(elements, data.len() as u64, "tensor_f32: dims {dims:?} do not match {} values", data.len());
            let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
            self.tensor(name, dims, 0, &bytes)
        }

        /// Adds a tensor of any ggml type with `data` as its raw bytes (not checked against the type's layout).
        pub fn tensor(&mut self, name: impl Into<String>, dims: &[u64], ggml_type: u32, data: &[u8]) -> &mut Self {
            let data = Data::Bytes(data.to_vec());
            self.tensors.push(Tensor { name: name.into(), dims: dims.to_vec(), ggml_type, data });
            self
        }

        /// Adds a tensor of `len` bytes that `fill` writes when the file is written, so that a file larger than
        /// memory (a synthetic model of billions of parameters) can be made. Writing fails if `fill` writes
        /// another number of bytes.
        pub fn tensor_later(
            &mut self,
            name: impl Into<String>,
            dims: &[u64],
            ggml_type: u32,
            len: u64,
            fill: impl Fn(&mut dyn Write) -> io::Result<()> + Send + Sync + 'static,
        ) -> &mut Self {
            let data = Data::Later(len, Arc::new(fill));
            self.tensors.push(Tensor { name: name.into(), dims: dims.to_vec(), ggml_type, data });
            self
        }

        fn alignment(&self) -> u64 {
            self.kvs
                .iter()
                .rev()
                .find(|(k, _)| k == "general.alignment")
                .and_then(|(_, v)| v.as_u64())
                .filter(|a| a.is_power_of_two())
                .unwrap_or(DEFAULT_ALIGNMENT)
        }

        /// The file's bytes (see [`GgufWriter::write_into`]).
        pub fn to_bytes(&self) -> Vec<u8> {
            let mut out = Vec::new();
            // Writing into memory fails only through a tensor's own `fill`.
            if let Err(e) = self.write_into(&mut out) {
                panic!("GgufWriter::to_bytes: {e}");
            }
            out
        }

        /// Writes the file to `out`. Padding follows the metadata and each tensor's data but the last, so the file
        /// ends exactly where the last tensor does.
        pub fn write_into(&self, out: &mut dyn Write) -> io::Result<()> {
            let alignment = self.alignment();
            let mut head = Vec::new();
            head.extend(MAGIC);
            head.extend(self.version.to_le_bytes());
            head.extend((self.tensors.len() as u64).to_le_bytes());
            head.extend((self.kvs.len() as u64).to_le_bytes());
            for (key, value) in &self.kvs {
                put_str(&mut head, key);
                head.extend(value.type_id().to_le_bytes());
                put_value(&mut head, value);
            }
            let mut offset = 0u64;
            for t in &self.tensors {
                put_str(&mut head, &t.name);
                head.extend((t.dims.len() as u32).to_le_bytes());
                for d in &t.dims {
                    head.extend(d.to_le_bytes());
                }
                head.extend(t.ggml_type.to_le_bytes());
                head.extend(offset.to_le_bytes());
                offset = (offset + t.data.len()).next_multiple_of(alignment);
            }
            pad(&mut head, alignment);
            out.write_all(&head)?;
            let mut written = 0u64;
            for t in &self.tensors {
                let padding = written.next_multiple_of(alignment) - written;
                out.write_all(&vec![0u8; padding as usize])?;
                written += padding;
                match &t.data {
                    Data::Bytes(b) => out.write_all(b)?,
                    Data::Later(len, fill) => {
                        let mut counted = Counted { inner: &mut *out, n: 0 };
                        fill(&mut counted)?;
                        if counted.n != *len {
                            let message = format!("tensor '{}': {} bytes written, {len} announced", t.name, counted.n);
                            return Err(io::Error::new(io::ErrorKind::InvalidData, message));
                        }
                    }
                }
                written += t.data.len();
            }
            Ok(())
        }

        /// Writes the file to `path` (through a temp file, fsync and rename).
        pub fn write_to(&self, path: &Path) -> Result<()> {
            crate::storage::write_atomic_with(path, |out| self.write_into(out))
        }
    }

    /// Counts the bytes written through it.
    struct Counted<'a> {
        inner: &'a mut dyn Write,
        n: u64,
    }

    impl Write for Counted<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.n += n as u64;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }

    fn pad(out: &mut Vec<u8>, alignment: u64) {
        let len = (out.len() as u64).next_multiple_of(alignment);
        out.resize(len as usize, 0);
    }

    fn put_str(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u64).to_le_bytes());
        out.extend(s.as_bytes());
    }

    fn put_value(out: &mut Vec<u8>, value: &GgufValue) {
        match value {
            GgufValue::U8(v) => out.push(*v),
            GgufValue::I8(v) => out.extend(v.to_le_bytes()),
            GgufValue::U16(v) => out.extend(v.to_le_bytes()),
            GgufValue::I16(v) => out.extend(v.to_le_bytes()),
            GgufValue::U32(v) => out.extend(v.to_le_bytes()),
            GgufValue::I32(v) => out.extend(v.to_le_bytes()),
            GgufValue::F32(v) => out.extend(v.to_le_bytes()),
            GgufValue::Bool(v) => out.push(u8::from(*v)),
            GgufValue::String(s) => put_str(out, s),
            GgufValue::U64(v) => out.extend(v.to_le_bytes()),
            GgufValue::I64(v) => out.extend(v.to_le_bytes()),
            GgufValue::F64(v) => out.extend(v.to_le_bytes()),
            GgufValue::Array(items) => {
                let elem_type = items.first().map_or(ty::U8, GgufValue::type_id);
                out.extend(elem_type.to_le_bytes());
                out.extend((items.len() as u64).to_le_bytes());
                for item in items {
                    put_value(out, item);
                }
            }
            GgufValue::SkippedArray { elem_type, len } => {
                out.extend(elem_type.to_le_bytes());
                out.extend(len.to_le_bytes());
                // All-zero bytes encode 0, "" (length 0) and an empty u8 array (type 0, length 0).
                let size = match *elem_type {
                    ty::STRING => 8,
                    ty::ARRAY => 12,
                    other => fixed_size(other).unwrap_or(0),
                };
                let zeros = usize::try_from(len.saturating_mul(size)).unwrap_or(usize::MAX);
                out.resize(out.len().saturating_add(zeros), 0);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Cursor;
    use std::time::{Duration, Instant};

    use super::writer::GgufWriter;
    use super::*;

    fn read(bytes: &[u8], opts: &ReadOptions) -> Result<GgufInfo> {
        read_info_from(Cursor::new(bytes), opts)
    }

    /// The message of the `InvalidGguf` error reading `bytes` must give.
    fn invalid(bytes: &[u8]) -> String {
        match read(bytes, &ReadOptions::default()) {
            Err(Error::InvalidGguf(msg)) => msg,
            other => panic!("expected InvalidGguf, got {other:?}"),
        }
    }

    /// Hand-built bytes, for files the writer would not produce.
    struct Raw(Vec<u8>);

    impl Raw {
        fn header(version: u32, tensors: u64, kvs: u64) -> Self {
            Raw(b"GGUF".to_vec()).u32(version).u64(tensors).u64(kvs)
        }
        fn u32(mut self, v: u32) -> Self {
            self.0.extend(v.to_le_bytes());
            self
        }
        fn u64(mut self, v: u64) -> Self {
            self.0.extend(v.to_le_bytes());
            self
        }
        fn str(mut self, s: &[u8]) -> Self {
            self.0.extend((s.len() as u64).to_le_bytes());
            self.0.extend(s);
            self
        }
        fn pad(mut self, n: usize) -> Self {
            self.0.resize(self.0.len() + n, 0);
            self
        }
    }

    fn all_types() -> Vec<(&'static str, GgufValue)> {
        use GgufValue::*;
        vec![
            ("t.u8", U8(200)),
            ("t.i8", I8(-100)),
            ("t.u16", U16(60000)),
            ("t.i16", I16(-30000)),
            ("t.u32", U32(4_000_000_000)),
            ("t.i32", I32(-2_000_000_000)),
            ("t.f32", F32(1.5e-6)),
            ("t.bool", Bool(true)),
            ("t.string", String("héllo {{ messages }}".into())),
            ("t.u64", U64(u64::MAX)),
            ("t.i64", I64(i64::MIN)),
            ("t.f64", F64(-1e300)),
            ("t.empty", Array(vec![])),
            ("t.strings", Array(vec![String("a".into()), String(std::string::String::new())])),
            ("t.bools", Array(vec![Bool(false), Bool(true)])),
            (
                "t.nested",
                Array(vec![
                    Array(vec![Array(vec![I64(1), I64(-2)]), Array(vec![String("x".into())])]),
                    Array(vec![Array(vec![F64(0.25)])]),
                ]),
            ),
        ]
    }

    /// A small valid file with every value type and two tensors.
    fn sample() -> GgufWriter {
        let mut w = GgufWriter::new();
        w.kv("general.architecture", GgufValue::String("llama".into()))
            .kv("general.name", GgufValue::String("Tiny".into()))
            .kv("general.file_type", GgufValue::U32(15))
            .kv("llama.context_length", GgufValue::U32(4096))
            .kv("tokenizer.chat_template", GgufValue::String("{{ bos_token }}".into()));
        for (k, v) in all_types() {
            w.kv(k, v);
        }
        w.tensor_f32("token_embd.weight", &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        w.tensor_f32("output_norm.weight", &[3], &[0.5, -0.5, 7.0]);
        w
    }

    #[test]
    fn round_trip_every_value_type() {
        for version in [2, 3] {
            let bytes = sample().version(version).to_bytes();
            let info = read(&bytes, &ReadOptions::full()).unwrap();
            assert_eq!(info.version, version);
            for (key, value) in all_types() {
                assert_eq!(info.get(key), Some(&value), "{key}");
            }
            assert_eq!(info.metadata.len(), all_types().len() + 5);
        }
    }

    #[test]
    fn accessors_read_the_well_known_keys() {
        let info = read(&sample().to_bytes(), &ReadOptions::default()).unwrap();
        assert_eq!(info.architecture(), Some("llama"));
        assert_eq!(info.name(), Some("Tiny"));
        assert_eq!(info.context_length(), Some(4096));
        assert_eq!(info.chat_template(), Some("{{ bos_token }}"));
        assert_eq!(info.file_type(), Some(15));
        assert_eq!(info.parameter_count(), 9);
        assert_eq!(info.get("t.i8").unwrap().as_u64(), None);
        assert_eq!(info.get("t.u16").unwrap().as_u64(), Some(60000));
        assert_eq!(info.get("t.i16").unwrap().as_f64(), Some(-30000.0));
        assert_eq!(info.get("t.f32").unwrap().as_u64(), None);
        assert_eq!(info.get("t.string").unwrap().as_f64(), None);
        assert_eq!(GgufValue::I64(7).as_u64(), Some(7));
    }

    #[test]
    fn tensor_infos_offsets_and_data_are_aligned() {
        for alignment in [None, Some(64u32), Some(1)] {
            let mut w = sample();
            if let Some(a) = alignment {
                w.kv("general.alignment", GgufValue::U32(a));
            }
            let bytes = w.to_bytes();
            let info = read(&bytes, &ReadOptions::default()).unwrap();
            let align = u64::from(alignment.unwrap_or(32));
            assert_eq!(info.data_offset % align, 0);
            let names: Vec<_> = info.tensors.iter().map(|t| (t.name.as_str(), t.dims.clone(), t.type_name())).collect();
            assert_eq!(names, [("token_embd.weight", vec![3, 2], "F32"), ("output_norm.weight", vec![3], "F32")]);
            assert_eq!(info.tensors[0].offset, 0);
            assert_eq!(info.tensors[1].offset, 24u64.next_multiple_of(align));
            let at = (info.data_offset + info.tensors[1].offset) as usize;
            assert_eq!(bytes[at..at + 4], 0.5f32.to_le_bytes());
            assert_eq!(bytes.len(), at + 12, "the file ends with the last tensor");
        }
    }

    #[test]
    fn long_arrays_are_skipped_and_what_follows_is_still_read() {
        let vocab = GgufValue::SkippedArray { elem_type: ty::STRING, len: 262_144 };
        let nested = GgufValue::Array((0..5000).map(|i| GgufValue::Array(vec![GgufValue::U32(i)])).collect());
        let mut w = GgufWriter::new();
        w.kv("tokenizer.ggml.tokens", vocab.clone())
            .kv("scores", GgufValue::Array(vec![GgufValue::F32(0.5); 4097]))
            .kv("nested", nested.clone())
            .kv("short", GgufValue::Array(vec![GgufValue::F32(0.5); 4096]))
            .kv("after", GgufValue::String("still here".into()))
            .tensor_f32("w", &[1], &[1.0]);
        let bytes = w.to_bytes();

        let info = read(&bytes, &ReadOptions::default()).unwrap();
        assert_eq!(info.get("tokenizer.ggml.tokens"), Some(&vocab));
        assert_eq!(info.get("scores"), Some(&GgufValue::SkippedArray { elem_type: ty::F32, len: 4097 }));
        assert_eq!(info.get("nested"), Some(&GgufValue::SkippedArray { elem_type: ty::ARRAY, len: 5000 }));
        assert!(matches!(info.get("short"), Some(GgufValue::Array(v)) if v.len() == 4096));
        assert_eq!(info.get("after").and_then(GgufValue::as_str), Some("still here"));
        assert_eq!(info.tensors.len(), 1);

        let full = read(&bytes, &ReadOptions::full()).unwrap();
        assert!(matches!(full.get("tokenizer.ggml.tokens"), Some(GgufValue::Array(v)) if v.len() == 262_144));
        assert_eq!(full.get("nested"), Some(&nested));
    }

    #[test]
    fn quantization_names_the_file_type() {
        assert_eq!(read(&sample().to_bytes(), &ReadOptions::default()).unwrap().quantization(), "Q4_K_M");
        for (ftype, name) in [(0, "F32"), (7, "Q8_0"), (32, "BF16"), (38, "MXFP4_MOE"), (40, "Q1_0")] {
            let mut w = GgufWriter::new();
            w.kv("general.file_type", GgufValue::U32(ftype)).tensor_f32("x", &[1], &[0.0]);
            assert_eq!(read(&w.to_bytes(), &ReadOptions::default()).unwrap().quantization(), name);
        }
    }

    /// A tensor written later gives the same file as its bytes given at once, and one whose fill writes another
    /// length than it announced fails the write and leaves no file.
    #[test]
    fn tensors_written_later_match_bytes_given_at_once() {
        let bytes: Vec<u8> = (0..100u8).collect();
        let mut now = GgufWriter::new();
        now.kv("a", GgufValue::U32(1)).tensor("x", &[100], 24, &bytes).tensor_f32("y", &[2], &[1.0, 2.0]);
        let mut later = GgufWriter::new();
        let copy = bytes.clone();
        later.kv("a", GgufValue::U32(1)).tensor_later("x", &[100], 24, 100, move |w| w.write_all(&copy)).tensor_f32(
            "y",
            &[2],
            &[1.0, 2.0],
        );
        assert_eq!(now.to_bytes(), later.to_bytes());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later.gguf");
        later.write_to(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), now.to_bytes());

        let mut short = GgufWriter::new();
        short.tensor_later("x", &[100], 24, 100, |w| w.write_all(&[0; 99]));
        let bad = dir.path().join("short.gguf");
        let e = short.write_to(&bad).unwrap_err().to_string();
        assert!(e.contains("99 bytes written, 100 announced"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "only the good file is left");
    }

    #[test]
    fn quantization_falls_back_to_the_dominant_tensor_type() {
        let q4k_block = [0u8; 144];
        let build = |file_type: Option<u32>| {
            let mut w = GgufWriter::new();
            if let Some(ft) = file_type {
                w.kv("general.file_type", GgufValue::U32(ft));
            }
            w.tensor_f32("norm", &[4], &[1.0; 4]).tensor("blk.0.ffn_up.weight", &[256], 12, &q4k_block);
            read(&w.to_bytes(), &ReadOptions::default()).unwrap()
        };
        assert_eq!(build(None).quantization(), "Q4_K");
        assert_eq!(build(Some(999)).quantization(), "Q4_K");
        assert_eq!(build(Some(14)).quantization(), "Q4_K_S");
        let empty = read(&GgufWriter::new().to_bytes(), &ReadOptions::default()).unwrap();
        assert_eq!(empty.quantization(), "unknown");
        assert_eq!(empty.parameter_count(), 0);
    }

    #[test]
    fn type_names_and_saturating_elements() {
        let t = |ggml_type, dims: &[u64]| TensorInfo { name: "t".into(), dims: dims.to_vec(), ggml_type, offset: 0 };
        assert_eq!(t(30, &[1]).type_name(), "BF16");
        assert_eq!(t(39, &[1]).type_name(), "MXFP4");
        assert_eq!(t(16, &[1]).type_name(), "IQ2_XXS");
        assert_eq!(t(4, &[1]).type_name(), "unknown");
        assert_eq!(t(0, &[u64::MAX, 3]).elements(), u64::MAX);
        assert_eq!(t(0, &[]).elements(), 1);
        assert_eq!(file_type_name(33), None);
    }

    #[test]
    fn every_truncated_prefix_is_an_error() {
        let bytes = sample().to_bytes();
        read(&bytes, &ReadOptions::full()).unwrap();
        for len in 0..bytes.len() {
            for opts in [ReadOptions::default(), ReadOptions::full()] {
                match read(&bytes[..len], &opts) {
                    Err(Error::InvalidGguf(msg)) => assert!(
                        msg.starts_with(&format!("truncated at byte {len}"))
                            || msg.contains("(truncated or corrupt file)"),
                        "prefix {len}: {msg}"
                    ),
                    other => panic!("prefix {len}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn corrupted_bytes_never_panic() {
        let bytes = sample().to_bytes();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for i in 0..bytes.len() {
            for v in [0x00, 0xff, 0x80, bytes[i] ^ 1] {
                let mut bad = bytes.clone();
                bad[i] = v;
                let _ = read(&bad, &ReadOptions::default());
                let _ = read(&bad, &ReadOptions { max_array_len: 1 });
            }
        }
        for _ in 0..2000 {
            let mut bad = bytes.clone();
            for _ in 0..4 {
                let at = (next() % bad.len() as u64) as usize;
                bad[at] = next() as u8;
            }
            let _ = read(&bad, &ReadOptions::full());
        }
    }

    #[test]
    fn absurd_counts_fail_fast() {
        let start = Instant::now();
        let cases = [
            (Raw::header(3, u64::MAX, 0), "tensors"),
            (Raw::header(3, 0, u64::MAX), "metadata entries"),
            (Raw::header(3, 1000, 1000), "cannot fit"),
            (Raw::header(3, 0, 1).str(b"k").u32(ty::STRING).u64(u64::MAX), "16 MiB"),
            (Raw::header(3, 0, 1).str(b"k").u32(ty::STRING).u64(1000).pad(20), "truncated"),
            (Raw::header(3, 0, 1).u64(1 << 20).pad(40), "truncated"),
            (Raw::header(3, 0, 1).str(b"k").u32(ty::ARRAY).u32(ty::U8).u64(u64::MAX), "cannot fit"),
            (Raw::header(3, 0, 1).str(b"k").u32(ty::ARRAY).u32(ty::STRING).u64(u64::MAX / 2).pad(64), "cannot fit"),
            (Raw::header(3, 0, 1).str(b"k").u32(ty::ARRAY).u32(ty::ARRAY).u64(u64::MAX).pad(64), "cannot fit"),
            (Raw::header(3, 0, 1).str(b"k").u32(ty::ARRAY).u32(77).u64(0), "unknown array element type 77"),
            (Raw::header(3, 0, 1).str(b"k").u32(13).pad(8), "unknown value type 13"),
            (Raw::header(3, 1, 0).str(b"t").u32(1000).pad(64), "1000 dimensions"),
            (Raw::header(3, 1, 0).str(b"t").u32(1).u64(1).u32(0).u64(7).pad(64), "not a multiple of 32"),
            (Raw::header(3, 1, 0).str(b"t").u32(2).u64(u64::MAX).u64(4).u32(0).u64(0).pad(64), "impossibly large"),
            (Raw::header(3, 1, 0).str(b"t").u32(1).u64(100).u32(12).u64(0).pad(64), "block size 256"),
        ];
        for (raw, expected) in cases {
            let msg = invalid(&raw.0);
            assert!(msg.contains(expected), "expected {expected:?} in {msg:?}");
        }
        let mut deep = Raw::header(3, 0, 1).str(b"k").u32(ty::ARRAY);
        for _ in 0..5 {
            deep = deep.u32(ty::ARRAY).u64(1);
        }
        let msg = invalid(&deep.u32(ty::U8).u64(0).pad(64).0);
        assert!(msg.contains("nested more than 4 deep"), "{msg}");
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn bad_magic_and_unsupported_versions_are_refused() {
        let msg = invalid(b"PK\x03\x04 this is a zip file");
        assert!(msg.contains("not the GGUF magic"), "{msg}");
        assert!(invalid(b"tjgg\x03\0\0\0").contains("legacy GGML"));
        let msg = invalid(&Raw::header(1, 0, 0).0);
        assert!(msg.contains("GGUF version 1") && msg.contains("not supported"), "{msg}");
        assert!(invalid(&Raw::header(7, 0, 0).0).contains("GGUF version 7 is not supported"));
        assert!(invalid(&Raw::header(3u32.swap_bytes(), 0, 0).0).contains("big-endian"));
        assert!(invalid(b"").contains("truncated at byte 0 while reading the magic number"));
        let err = read(b"GGML", &ReadOptions::default()).unwrap_err();
        assert_eq!(err.code(), "invalid_gguf");
    }

    #[test]
    fn keys_must_be_utf8_but_values_are_lossy() {
        let bad_key = Raw::header(3, 0, 1).str(b"k\xff").u32(ty::U8).pad(1);
        assert!(invalid(&bad_key.0).contains("metadata key is not valid UTF-8"));
        let bad_value = Raw::header(3, 0, 1).str(b"k").u32(ty::STRING).str(b"a\xffb");
        let info = read(&bad_value.0, &ReadOptions::default()).unwrap();
        assert_eq!(info.get("k").and_then(GgufValue::as_str), Some("a\u{fffd}b"));
    }

    #[test]
    fn duplicates_and_bad_alignment_are_refused() {
        let mut w = GgufWriter::new();
        w.kv("a", GgufValue::U8(1)).kv("a", GgufValue::U8(2));
        assert!(invalid(&w.to_bytes()).contains("duplicate metadata key (metadata entry 1 'a'"));
        let mut w = GgufWriter::new();
        w.tensor_f32("x", &[1], &[1.0]).tensor_f32("x", &[1], &[2.0]);
        assert!(invalid(&w.to_bytes()).contains("tensor 'x' appears twice"));
        for bad in [GgufValue::U32(0), GgufValue::U32(48), GgufValue::I32(-32), GgufValue::String("32".into())] {
            let mut w = GgufWriter::new();
            w.kv("general.alignment", bad);
            assert!(invalid(&w.to_bytes()).contains("general.alignment must be a power of two"));
        }
    }

    #[test]
    fn reads_from_files_and_from_an_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.gguf");
        sample().write_to(&path).unwrap();
        let info = read_info(&path, &ReadOptions::default()).unwrap();
        assert_eq!(info, read(&sample().to_bytes(), &ReadOptions::default()).unwrap());

        let mut prefixed = b"junk".to_vec();
        prefixed.extend(sample().to_bytes());
        let mut cursor = Cursor::new(prefixed);
        cursor.set_position(4);
        assert_eq!(read_info_from(cursor, &ReadOptions::default()).unwrap(), info);

        let err = read_info(&dir.path().join("missing.gguf"), &ReadOptions::default()).unwrap_err();
        assert_eq!(err.code(), "io");
    }
}
