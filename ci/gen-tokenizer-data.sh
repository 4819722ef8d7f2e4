#!/usr/bin/env bash
# Write core/tests/data/tokenizer/*.json: llama.cpp's token ids for a varied
# corpus, the reference that core/tests/it/tokenizer_llama_cpp.rs checks the
# core's tokenizer against.
#
# Usage: ci/gen-tokenizer-data.sh [--help]
#
# For each real test model (ci/fetch-test-models.sh), runs llama.cpp's
# llama-tokenize (ci/build-llama-cpp.sh) on every corpus text, with special
# tokens parsed and not, BOS added as the model wants. Variants re-run the
# corpus on copies of the models' metadata with one key changed (another BPE
# pre-tokenizer on Qwen's vocabulary, add_space_prefix on Gemma's), which
# covers code paths that no test model has; the copies hold no tensors, which
# llama-tokenize does not need.
#
# Each output file is one JSON object: the generator, the llama.cpp version,
# the model file, the metadata overrides of the variant, "eog" (the
# end-of-generation ids llama.cpp's vocabulary loader lists), and "cases", an
# array of {text, parse_special, ids}.
#
# Environment:
#   JAN_TEST_MODELS   model folder (default: $HOME/.cache/jan-test-models)
#   LLAMA_CPP_DIR     llama.cpp build cache (default: $HOME/.cache/jan-llama-cpp);
#                     llama-tokenize is taken from its bin/
#   JOBS              parallel llama-tokenize runs (default: number of CPUs)
#   LIMIT             use only the first LIMIT corpus texts (a quick check of
#                     this script; the tests want the whole corpus)
#
# Needs jq and python3 (to copy GGUF metadata). About 7 minutes on 2 cores
# (910 llama-tokenize runs of about a second each).
set -euo pipefail

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 0
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODELS="${JAN_TEST_MODELS:-$HOME/.cache/jan-test-models}"
TOKENIZE="${LLAMA_CPP_DIR:-$HOME/.cache/jan-llama-cpp}/bin/llama-tokenize"
OUT="$ROOT/core/tests/data/tokenizer"
JOBS="${JOBS:-$(nproc)}"

GEMMA="gemma-3-270m-q4_k_m.gguf"
QWEN="qwen2.5-coder-0.5b-instruct.gguf"

die() { echo "gen-tokenizer-data: $*" >&2; exit 1; }

[[ -x "$TOKENIZE" ]] || die "$TOKENIZE not found; run ci/build-llama-cpp.sh"
for m in "$GEMMA" "$QWEN"; do
  [[ -f "$MODELS/$m" ]] || die "$MODELS/$m not found; run ci/fetch-test-models.sh"
done
command -v jq >/dev/null || die "jq is needed"
command -v python3 >/dev/null || die "python3 is needed"

VERSION="$("$TOKENIZE" --version 2>&1 | grep -m1 '^version:' || true)"
[[ -n "$VERSION" ]] || die "could not read the llama.cpp version from $TOKENIZE --version"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
trap 'echo "gen-tokenizer-data: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

# --- corpus -------------------------------------------------------------------
# Non-ASCII text is written as is (this file is UTF-8); invisible characters as
# UTF-8 byte escapes in $'...' (which, unlike \u escapes, do not depend on the
# locale).
NBSP=$'\xc2\xa0'          # U+00A0 no-break space
IDEO_SPACE=$'\xe3\x80\x80' # U+3000 ideographic space
EM_SPACE=$'\xe2\x80\x83'   # U+2003 em space
ACUTE=$'\xcc\x81'          # U+0301 combining acute accent
DIAERESIS=$'\xcc\x88'      # U+0308 combining diaeresis
ZWJ=$'\xe2\x80\x8d'        # U+200D zero width joiner
ZWSP=$'\xe2\x80\x8b'       # U+200B zero width space
TJE=$'\xe1\xb2\x89'        # U+1C89, assigned in Unicode 16 (llama.cpp's tables are 15.1)
repeat() { local s="" i; for ((i = 0; i < $2; i++)); do s+="$1"; done; printf '%s' "$s"; }
NEWLINES40="$(repeat $'\n' 40; printf x)"   # (the x keeps $(...) from eating the newlines)
NEWLINES40="${NEWLINES40%x}"
LOREM="Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. "

CORPUS=(
  "Hello world"
  "The quick brown fox jumps over the lazy dog."
  "It was the best of times, it was the worst of times; it was the age of wisdom... \"Really?\" she asked -- and left (quietly)."
  ""
  " "
  "a b"
  "a  b"
  "a   b"
  "a    b"
  "a     b"
  "a      b"
  "a       b"
  "a        b"
  "   leading spaces"
  "trailing spaces   "
  "  both sides  "
  "$(repeat ' ' 40)forty spaces before$(repeat ' ' 40)"
  $'line one\nline two'
  $'a\n\nb\n\n\n\nc'
  $'\n'
  $'\n\n'
  $'a \n b  \n\n  c'
  $'windows\r\nline endings\r\n'
  $'hello   \nworld'
  "$NEWLINES40"
  $'\tindented'
  $'a\t\tb\t\t\tc'
  $'col1\tcol2\tcol3\n1\t2\t3\n'
  $'fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * 2).collect();\n    println!("{:?} {}", v, v.len());\n}\n'
  $'def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\n\nclass A:\n\tpass\n'
  '{"name": "Jan", "version": 1.5, "tags": ["a", "b"], "nested": {"ok": true, "x": null}}'
  "你好，世界！今天天气很好。我们去公园散步吧。"
  "こんにちは、世界。カタカナとひらがなと漢字を混ぜた文章です。"
  "안녕하세요, 세계! 한국어 문장입니다."
  "I love 🍕 and 🎉! 😀😃😄"
  "family: 👨${ZWJ}👩${ZWJ}👧${ZWJ}👦 flags: 🇫🇷🇯🇵🇺🇸 thumbs: 👍🏽"
  "café naïve résumé Ångström Größenwahn Straße"
  "cafe${ACUTE} nai${DIAERESIS}ve re${ACUTE}sume${ACUTE} ${ACUTE}${ACUTE}"
  "مرحبا بالعالم، كيف حالك؟"
  "שלום עולם"
  "Привет, мир! Как дела?"
  "नमस्ते दुनिया, आप कैसे हैं?"
  "สวัสดีชาวโลก Γειά σου Κόσμε Tiếng Việt có dấu"
  "1234567890"
  "12345678901234567890123456789012345678901234567890"
  "3.14159 and 2,718,281 or 1e-10; call 555-0100 in 2024"
  "Ⅻ ½ ² ٣ ۴ ５"
  "don't I'M you're we've they'll she'd it's"
  "DON'T WE'VE 's 'S 'Re 'll"
  "İstanbul'da ıi"
  $'<|im_start|>user\nhi<|im_end|>'
  $'<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n'
  $'<start_of_turn>user\nHello there<end_of_turn>\n<start_of_turn>model\n'
  "<bos>text after bos"
  "</s>"
  "<s>hi</s> <unk> <pad>"
  "<|endoftext|>tail"
  '<tool_call>{"name": "f", "arguments": {}}</tool_call>'
  "<unused0> <mask> [multimodal] <start_of_image>"
  "<table><tr><td>x</td></tr></table> <b>bold</b> <code>c</code>"
  "<0x41><0x0A> literal byte-token texts"
  "<|im_start|><|im_start|>x<|im_end|>y<|im_end|>"
  "   <|im_start|>   spaced   <|im_end|>   "
  "<|im_start <start_of_turn<end_of_turn>> <|im_end|"
  "Pneumonoultramicroscopicsilicovolcanoconiosis supercalifragilisticexpialidocious"
  "$(repeat a 300) $(repeat xyz 100)"
  "https://github.com/ggml-org/llama.cpp/blob/master/src/llama-vocab.cpp?ref=abc&x=1#L42"
  $'# Title\n\n- item 1\n- **bold** and _italic_ `code`\n\n```rust\nlet x = 1;\n```\n\n> quote\n\n| a | b |\n|---|---|\n'
  "non${NBSP}breaking${IDEO_SPACE}ideographic${EM_SPACE}em space"
  $'bell\x07 escape\x1b[0m delete\x7f'
  "zero${ZWSP}width${ZWJ}joiner"
  "new letter ${TJE}${TJE} here"
  "replacement � char"
  "∑_{i=1}^{n} x² ≤ √π ± ∞ → ∀x∈ℝ"
  "!!!???...,,,;;; ----====____ ((()))[[[]]]{{{}}}"
  "English中文日本語한국어Русский"
  "abc123def456 x86_64-unknown-linux-gnu v1.2.3-rc.4"
  "(╯°□°）╯︵ ┻━┻"
  "$(repeat "$LOREM" 10)"
  $'lone\rcarriage\vvertical\fform feed'
  $'\t \t  \t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t end'
  "${IDEO_SPACE}${IDEO_SPACE}${NBSP}"
  "rock'n'roll 'quoted' O'Neil's ''double'' it''s"
  "a+=b;c-=d;/*x*/ if(a&&b||!c){return a<=b?a:b;} x->y::z <=> \\n"
  "١٢٣٤٥٦٧ ۱۲۳۴ 一二三 ①②③"
  "a▁b ▁▁lead ĠHello Ċ ▁"
  "abc<|im_end|>def<end_of_turn>ghi"
  "emoji🎉without🎉spaces👍🏽done"
  $'mixed \n\n\t  \n   indentation\n\t\tlevel'
  "UPPER CASE SHOUTING AND MiXeD cAsE WoRdS"
  "Ελληνικά: αβγ ΑΒΓ; Հայերեն; ქართული; ትግርኛ"
)

# --- variants -----------------------------------------------------------------
# name|model|modes|overrides: modes is "both" (parse_special true and false) or
# "special" (true only); overrides are key=type:value (type str or bool),
# separated by ";".
VARIANTS=(
  "gemma-3-270m|$GEMMA|both|"
  "qwen2.5-coder-0.5b|$QWEN|both|"
  "qwen2.5-coder-0.5b@llama-bpe|$QWEN|special|tokenizer.ggml.pre=str:llama-bpe"
  "qwen2.5-coder-0.5b@gpt-2|$QWEN|special|tokenizer.ggml.pre=str:gpt-2"
  "qwen2.5-coder-0.5b@default|$QWEN|special|tokenizer.ggml.pre=str:default"
  "qwen2.5-coder-0.5b@starcoder|$QWEN|special|tokenizer.ggml.pre=str:starcoder"
  "qwen2.5-coder-0.5b@qwen35|$QWEN|special|tokenizer.ggml.pre=str:qwen35"
  "gemma-3-270m@add_space_prefix|$GEMMA|special|tokenizer.ggml.add_space_prefix=bool:true"
)

# Copies a GGUF file's header and metadata, with overrides, and no tensors.
copy_metadata() {
  python3 - "$@" <<'PY'
import struct, sys

src, dst, *overrides = sys.argv[1:]
FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
f = open(src, "rb")
def take(n):
    b = f.read(n)
    assert len(b) == n, "truncated GGUF"
    return b
def u32(): return struct.unpack("<I", take(4))[0]
def u64(): return struct.unpack("<Q", take(8))[0]
def value(t):
    """The encoded bytes of a value of type t."""
    if t == 8:
        n = u64(); return struct.pack("<Q", n) + take(n)
    if t == 9:
        et, n = u32(), u64()
        head = struct.pack("<IQ", et, n)
        if et in FIXED:
            return head + take(FIXED[et] * n)
        return head + b"".join(value(et) for _ in range(n))
    return take(FIXED[t])
def encode(typ, text):
    if typ == "str":
        b = text.encode(); return 8, struct.pack("<Q", len(b)) + b
    if typ == "bool":
        return 7, bytes([text == "true"])
    raise SystemExit(f"unknown override type {typ}")

assert take(4) == b"GGUF"
version, _n_tensors, n_kv = u32(), u64(), u64()
wanted = {}
for o in overrides:
    key, rest = o.split("=", 1)
    wanted[key] = encode(*rest.split(":", 1))
kvs = []
for _ in range(n_kv):
    k = take(u64()); t = u32(); v = value(t)
    name = k.decode()
    if name in wanted:
        t, v = wanted.pop(name)
    kvs.append(struct.pack("<Q", len(k)) + k + struct.pack("<I", t) + v)
for name, (t, v) in wanted.items():
    k = name.encode()
    kvs.append(struct.pack("<Q", len(k)) + k + struct.pack("<I", t) + v)
with open(dst, "wb") as out:
    out.write(b"GGUF" + struct.pack("<IQQ", version, 0, len(kvs)) + b"".join(kvs))
PY
}

# One llama-tokenize run: MODEL TEXT_FILE PARSE_SPECIAL(true|false) OUT_FILE.
tokenize_one() {
  # (logs go to the .err file, shown if the run fails)
  local flags=(-m "$1" -f "$2" --ids --no-escape)
  [[ "$3" == true ]] || flags+=(--no-parse-special)
  "$TOKENIZE" "${flags[@]}" >"$4" 2>"$4.err" || {
    echo "llama-tokenize failed on $1 with $2:" >&2
    tail -n 5 "$4.err" >&2
    return 1
  }
  grep -q '^\[' "$4" || { echo "no ids from llama-tokenize for $2" >&2; return 1; }
}
export -f tokenize_one
export TOKENIZE

if [[ -n "${LIMIT:-}" ]]; then
  CORPUS=("${CORPUS[@]:0:$LIMIT}")
fi
for i in "${!CORPUS[@]}"; do
  printf '%s' "${CORPUS[$i]}" >"$TMP/text-$i.txt"
done
echo "gen-tokenizer-data: ${#CORPUS[@]} texts, ${#VARIANTS[@]} configurations, llama.cpp $VERSION" >&2

# Jobs: one line per run, "model text parse_special out".
: >"$TMP/jobs"
for variant in "${VARIANTS[@]}"; do
  IFS='|' read -r name model modes overrides <<<"$variant"
  IFS=';' read -r -a overrides <<<"$overrides"
  path="$MODELS/$model"
  if ((${#overrides[@]} > 0)); then
    path="$TMP/$name.gguf"
    copy_metadata "$MODELS/$model" "$path" "${overrides[@]}"
  fi
  mkdir -p "$TMP/$name"
  # The loader prints the end-of-generation tokens at log level 4, after
  # "printing all EOG tokens:", one "  - ID ('TEXT')" line each.
  "$TOKENIZE" -m "$path" -p x --ids -lv 4 2>&1 |
    awk '/printing all EOG tokens:/ { on = 1; next }
         on && match($0, /load: +- +[0-9]+ \(/) { s = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", s); print s; next }
         { on = 0 }' >"$TMP/$name.eog"
  [[ -s "$TMP/$name.eog" ]] || die "no end-of-generation tokens in llama-tokenize's log for $name"
  for i in "${!CORPUS[@]}"; do
    for ps in true false; do
      [[ "$ps" == true || "$modes" == both ]] || continue
      printf '%s\t%s\t%s\t%s\n' "$path" "$TMP/text-$i.txt" "$ps" "$TMP/$name/$i-$ps.ids" >>"$TMP/jobs"
    done
  done
done

echo "gen-tokenizer-data: $(wc -l <"$TMP/jobs") llama-tokenize runs, $JOBS at a time" >&2
# shellcheck disable=SC2016 # the script is for the child bash
xargs -P "$JOBS" -n 1 -d '\n' bash -c 'IFS=$'"'"'\t'"'"' read -r m t p o <<<"$1"; tokenize_one "$m" "$t" "$p" "$o"' _ <"$TMP/jobs"

mkdir -p "$OUT"
for variant in "${VARIANTS[@]}"; do
  IFS='|' read -r name model _ overrides <<<"$variant"
  IFS=';' read -r -a overrides <<<"$overrides"
  : >"$TMP/$name.cases"
  for i in "${!CORPUS[@]}"; do
    for ps in true false; do
      ids="$TMP/$name/$i-$ps.ids"
      [[ -f "$ids" ]] || continue
      jq -nc --rawfile text "$TMP/text-$i.txt" --argjson ps "$ps" --slurpfile ids "$ids" \
        '{text: $text, parse_special: $ps, ids: $ids[0]}' >>"$TMP/$name.cases"
    done
  done
  overrides_json="$(
    for o in "${overrides[@]}"; do
      key="${o%%=*}" rest="${o#*=}"
      jq -nc --arg k "$key" --arg t "${rest%%:*}" --arg v "${rest#*:}" \
        '{($k): (if $t == "bool" then ($v == "true") else $v end)}'
    done | jq -sc 'add // {}'
  )"
  # One case a line, so that diffs of regenerated data are readable.
  {
    printf '{\n  "generator": "ci/gen-tokenizer-data.sh",\n'
    printf '  "llama_cpp": %s,\n' "$(jq -n --arg v "$VERSION" '$v')"
    printf '  "model": %s,\n' "$(jq -n --arg v "$model" '$v')"
    printf '  "overrides": %s,\n' "$overrides_json"
    printf '  "eog": %s,\n' "$(jq -sc . "$TMP/$name.eog")"
    printf '  "cases": [\n'
    sed '$!s/$/,/; s/^/    /' "$TMP/$name.cases"
    printf '  ]\n}\n'
  } >"$OUT/$name.json"
  jq -e '.cases | length > 0' "$OUT/$name.json" >/dev/null || die "$OUT/$name.json is not valid"
  echo "$OUT/$name.json: $(jq '.cases | length' "$OUT/$name.json") cases" >&2
done
