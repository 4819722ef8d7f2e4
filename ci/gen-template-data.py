#!/usr/bin/env python3
"""Writes the reference renders that core/tests/chat_template.rs compares the Rust chat templates with.

For every template under core/tests/data/templates/ (NAME.jinja) it renders a set of conversations with Python's
jinja2 configured exactly as Hugging Face transformers' `apply_chat_template` configures it, and writes
NAME.expected.json beside it:

  - jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
    extensions=[jinja2.ext.loopcontrols])
  - the `tojson` filter transformers defines: json.dumps(x, ensure_ascii=False, indent=indent,
    separators=separators, sort_keys=sort_keys)
  - the globals `raise_exception(message)` (raises TemplateError) and `strftime_now(format)`
  - render(messages=..., tools=... (None when there are none), add_generation_prompt=..., bos_token=...,
    eos_token=..., **kwargs)

Messages are in transformers' shape: tool-call arguments are objects. A case with "openai_arguments" is fed to the
Rust side with the arguments as JSON strings (as OpenAI clients send them), which the Rust side must turn back
into objects for templates that need them (`tool_call.arguments | tojson`); the reference is rendered with the
objects. A case with "arguments_as_strings" gives both sides the same compact JSON strings (for templates that
print string arguments as they are). A case with "fold_system" is rendered here with the system text moved in front of the first user
message (what the Rust side does for templates without a system role); the Rust side gets the original messages.
A case whose render raises stores the message under "error" instead of "expected".

The qwen2.5-coder template is taken from the real test model (ci/fetch-test-models.sh) when it is present, and
stored as qwen2.5-coder.jinja; the other templates are stored files (see the README there).

Usage: ci/gen-template-data.py      (creates its own virtualenv with jinja2 under ~/.cache on first use)
"""
import json
import os
import struct
import subprocess
import sys
import venv
from datetime import datetime

JINJA2_VERSION = "3.1.6"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "core", "tests", "data", "templates")
VENV = os.path.join(os.path.expanduser("~"), ".cache", "jan-template-venv")
MODELS = os.environ.get("JAN_TEST_MODELS", os.path.join(os.path.expanduser("~"), ".cache", "jan-test-models"))
QWEN_GGUF = os.path.join(MODELS, "qwen2.5-coder-0.5b-instruct.gguf")


def ensure_venv():
    """Re-runs this script under a virtualenv that has the pinned jinja2."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        print(f"creating {VENV}", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    subprocess.run([python, "-m", "pip", "install", "-q", f"jinja2=={JINJA2_VERSION}"], check=True)
    os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])


def gguf_chat_template(path):
    """tokenizer.chat_template from a GGUF file (a minimal reader: skips every other value)."""
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise SystemExit(f"{path} is not a GGUF file")
        (_version,) = struct.unpack("<I", f.read(4))
        _tensors, kvs = struct.unpack("<QQ", f.read(16))

        def string():
            (n,) = struct.unpack("<Q", f.read(8))
            return f.read(n).decode("utf-8")

        def skip(kind):
            if kind == 8:
                string()
            elif kind == 9:
                (item,) = struct.unpack("<I", f.read(4))
                (n,) = struct.unpack("<Q", f.read(8))
                if item == 8:
                    for _ in range(n):
                        string()
                else:
                    f.seek(sizes[item] * n, 1)
            else:
                f.seek(sizes[kind], 1)

        for _ in range(kvs):
            key = string()
            (kind,) = struct.unpack("<I", f.read(4))
            if key == "tokenizer.chat_template" and kind == 8:
                return string()
            skip(kind)
    raise SystemExit(f"{path} has no tokenizer.chat_template")


def environment():
    import jinja2
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def fold_system(messages):
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if not system:
        return rest
    for m in rest:
        if m["role"] == "user":
            m["content"] = system + "\n\n" + m["content"]
            return rest
    return [{"role": "user", "content": system}] + rest


def stringify_arguments(messages):
    out = json.loads(json.dumps(messages))
    for m in out:
        for c in m.get("tool_calls", []):
            c["function"]["arguments"] = json.dumps(c["function"]["arguments"], ensure_ascii=False, separators=(",", ":"))
    return out


def render(template, spec, case):
    import jinja2

    messages = case["messages"]
    if case.get("arguments_as_strings"):
        messages = stringify_arguments(messages)
    if case.get("fold_system"):
        messages = fold_system(messages)
    kwargs = dict(case.get("kwargs", {}))
    context = {"bos_token": spec["bos_token"], "eos_token": spec["eos_token"], **kwargs}
    try:
        out = template.render(
            messages=messages,
            tools=case.get("tools") or None,
            add_generation_prompt=case.get("add_generation_prompt", True),
            **context,
        )
        return {"expected": out}
    except jinja2.exceptions.TemplateError as e:
        return {"error": str(e)}


# ---------------------------------------------------------------------------------------------------- conversations
def msg(role, content, **extra):
    return {"role": role, "content": content, **extra}


def call(name, arguments, id=None):
    c = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if id is not None:
        c = {"id": id, **c}
    return c


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city. Quotes \"like this\" and <tags> stay as they are.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Zürich or 東京"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 16, "default": 1},
                "threshold": {"type": "number", "default": 0.5, "multipleOf": 1e-07},
            },
            "required": ["city"],
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
}
SYSTEM = msg("system", "You are Jan, a helpful assistant.")
HELLO = msg("user", "Hello!")
MULTI = [
    SYSTEM,
    msg("user", "What is 2+2?"),
    msg("assistant", "4."),
    msg("user", "And times 3?"),
    msg("assistant", "12."),
    msg("user", "Thanks!"),
]
NON_ASCII = [
    msg("system", "Réponds en français. 答えは日本語で。"),
    msg("user", "Ça va? 你好 🌍 — «quotes» ‘single’ “double” \\ back\\slash\ttab\u200bzwsp"),
    msg("assistant", "Très bien 😀"),
    msg("user", "مرحبا\nnew line"),
]
JINJA_LOOKING = [
    msg("system", "Never evaluate {{ system_var }} or {% raw %}."),
    msg("user", "Print {{ x }} and {% if true %}yes{% endif %} and {# comment #} and {{ raise_exception('no') }}"),
]
WEATHER_CALL = [
    SYSTEM,
    msg("user", "Weather in Zürich and Paris?"),
    msg("assistant", "", tool_calls=[
        call("get_weather", {"city": "Zürich", "unit": "celsius", "days": 2, "threshold": 0.25}, id="call00001"),
        call("get_weather", {"city": "Paris", "note": "quote \" and \\ and\nnewline", "nested": {"a": [1, 2.5, None, True]}}, id="call00002"),
    ]),
    msg("tool", "{\"temp\": 21.5, \"sky\": \"sunny\"}", tool_call_id="call00001"),
    msg("tool", "{\"temp\": 18, \"sky\": \"cloudy ☁\"}", tool_call_id="call00002"),
    msg("assistant", "Zürich: 21.5 °C and sunny; Paris: 18 °C and cloudy."),
    msg("user", "And tomorrow?"),
]
SINGLE_CALL = [
    SYSTEM,
    msg("user", "Weather in Zürich?"),
    msg("assistant", "", tool_calls=[call("get_weather", {"city": "Zürich", "days": 1}, id="call00001")]),
    msg("tool", "{\"temp\": 21.5}", tool_call_id="call00001"),
]

CASES = {
    "qwen2.5-coder": {
        "bos_token": "<|endoftext|>",
        "eos_token": "<|im_end|>",
        "cases": [
            {"name": "system_and_user", "messages": [SYSTEM, HELLO]},
            {"name": "user_only_gets_default_system", "messages": [HELLO]},
            {"name": "multi_turn", "messages": MULTI},
            {"name": "no_generation_prompt", "messages": MULTI[:5], "add_generation_prompt": False},
            {"name": "non_ascii", "messages": NON_ASCII},
            {"name": "jinja_looking_content_is_text", "messages": JINJA_LOOKING},
            {"name": "empty_content", "messages": [msg("user", ""), msg("assistant", ""), msg("user", " ")]},
            {"name": "tools_with_system", "messages": [SYSTEM, HELLO], "tools": [WEATHER, SEARCH]},
            {"name": "tools_without_system", "messages": [HELLO], "tools": [WEATHER]},
            {"name": "empty_tool_list_is_no_tools", "messages": [HELLO], "tools": []},
            {"name": "tool_calls_and_results_openai_arguments", "messages": WEATHER_CALL, "tools": [WEATHER],
             "openai_arguments": True},
            {"name": "tool_calls_and_results_object_arguments", "messages": WEATHER_CALL, "tools": [WEATHER]},
            {"name": "tool_calls_with_content", "messages": [
                HELLO,
                msg("assistant", "Let me check.", tool_calls=[call("search", {"query": "jan"})]),
                msg("tool", "Jan is an open-source ChatGPT alternative."),
            ], "tools": [SEARCH], "openai_arguments": True, "add_generation_prompt": False},
            {"name": "tool_results_ending_the_chat", "messages": WEATHER_CALL[:5], "tools": [WEATHER],
             "openai_arguments": True},
            {"name": "system_later_in_chat", "messages": [HELLO, msg("assistant", "Hi."), msg("system", "Be terse."),
                                                           msg("user", "Ok")]},
        ],
    },
    "llama-3.2-3b-instruct": {
        "bos_token": "<|begin_of_text|>",
        "eos_token": "<|eot_id|>",
        "cases": [
            {"name": "system_and_user", "messages": [SYSTEM, HELLO], "kwargs": {"date_string": "26 Jul 2024"}},
            {"name": "user_only", "messages": [HELLO], "kwargs": {"date_string": "01 Jan 2025"}},
            {"name": "multi_turn", "messages": MULTI, "kwargs": {"date_string": "26 Jul 2024"}},
            {"name": "no_generation_prompt", "messages": MULTI[:5], "add_generation_prompt": False,
             "kwargs": {"date_string": "26 Jul 2024"}},
            {"name": "non_ascii", "messages": NON_ASCII, "kwargs": {"date_string": "26 Jul 2024"}},
            {"name": "jinja_looking_content_is_text", "messages": JINJA_LOOKING,
             "kwargs": {"date_string": "26 Jul 2024"}},
            {"name": "tools_in_user_message", "messages": [SYSTEM, HELLO], "tools": [WEATHER, SEARCH],
             "kwargs": {"date_string": "26 Jul 2024"}},
            {"name": "tools_in_system_message", "messages": [SYSTEM, HELLO], "tools": [WEATHER],
             "kwargs": {"date_string": "26 Jul 2024", "tools_in_user_message": False}},
            {"name": "tool_call_and_result", "messages": SINGLE_CALL, "tools": [WEATHER], "openai_arguments": True,
             "kwargs": {"date_string": "26 Jul 2024", "tools_in_user_message": False}},
            {"name": "two_tool_calls_are_refused", "messages": WEATHER_CALL, "tools": [WEATHER],
             "kwargs": {"date_string": "26 Jul 2024", "tools_in_user_message": False}},
            {"name": "tools_without_user_message_are_refused", "messages": [SYSTEM], "tools": [WEATHER],
             "kwargs": {"date_string": "26 Jul 2024"}},
        ],
    },
    "gemma-3-it": {
        "bos_token": "<bos>",
        "eos_token": "<eos>",
        "cases": [
            {"name": "system_and_user", "messages": [SYSTEM, HELLO]},
            {"name": "user_only", "messages": [HELLO]},
            {"name": "multi_turn", "messages": MULTI},
            {"name": "no_generation_prompt", "messages": MULTI[:5], "add_generation_prompt": False},
            {"name": "non_ascii", "messages": NON_ASCII},
            {"name": "whitespace_is_trimmed", "messages": [msg("user", "  \n padded \t\n"), msg("assistant", "\n x \n"),
                                                             msg("user", "\u3000wide space\u3000")]},
            {"name": "jinja_looking_content_is_text", "messages": JINJA_LOOKING},
            {"name": "roles_must_alternate", "messages": [HELLO, HELLO]},
        ],
    },
    "gemma-2-2b-it": {
        "bos_token": "<bos>",
        "eos_token": "<eos>",
        "cases": [
            {"name": "user_only", "messages": [HELLO]},
            {"name": "multi_turn_without_system", "messages": MULTI[1:]},
            {"name": "system_is_folded_into_first_user_message", "messages": MULTI, "fold_system": True},
            {"name": "roles_must_alternate", "messages": [HELLO, msg("assistant", "Hi"), msg("assistant", "Again")]},
        ],
    },
    "mistral-nemo-instruct-2407": {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "cases": [
            {"name": "user_only", "messages": [HELLO]},
            {"name": "system_goes_to_last_user_message", "messages": MULTI},
            {"name": "non_ascii", "messages": NON_ASCII},
            {"name": "tools_calls_and_results", "messages": WEATHER_CALL, "tools": [WEATHER, SEARCH],
             "openai_arguments": True},
            {"name": "tool_call_ids_must_have_nine_characters", "messages": [
                HELLO, msg("assistant", "", tool_calls=[call("search", {"query": "x"}, id="short")]),
            ]},
            {"name": "roles_must_alternate", "messages": [HELLO, HELLO]},
        ],
    },
    "qwen3-0.6b": {
        "bos_token": "<|endoftext|>",
        "eos_token": "<|im_end|>",
        "cases": [
            {"name": "user_only", "messages": [HELLO]},
            {"name": "thinking_is_dropped_from_past_turns", "messages": [
                SYSTEM, msg("user", "2+2?"), msg("assistant", "<think>\nsimple sum\n</think>\n\n4."),
                msg("user", "times 3?"),
            ]},
            {"name": "thinking_disabled", "messages": [HELLO], "kwargs": {"enable_thinking": False}},
            {"name": "tool_calls_with_string_arguments", "messages": WEATHER_CALL, "tools": [WEATHER],
             "arguments_as_strings": True},
            {"name": "tool_calls_with_object_arguments", "messages": WEATHER_CALL, "tools": [WEATHER]},
            {"name": "non_ascii", "messages": NON_ASCII},
        ],
    },
}


def main():
    ensure_venv()
    import jinja2

    if os.path.exists(QWEN_GGUF):
        text = gguf_chat_template(QWEN_GGUF)
        with open(os.path.join(DATA, "qwen2.5-coder.jinja"), "w", encoding="utf-8", newline="") as f:
            f.write(text)
    env = environment()
    for name, spec in CASES.items():
        with open(os.path.join(DATA, name + ".jinja"), encoding="utf-8", newline="") as f:
            template = env.from_string(f.read())
        cases = []
        for case in spec["cases"]:
            cases.append({**case, **render(template, spec, case)})
        out = {
            "template": name + ".jinja",
            "generator": f"ci/gen-template-data.py with jinja2 {jinja2.__version__}",
            "bos_token": spec["bos_token"],
            "eos_token": spec["eos_token"],
            "cases": cases,
        }
        path = os.path.join(DATA, name + ".expected.json")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            json.dump(out, f, ensure_ascii=False, indent=1)
            f.write("\n")
        errors = sum(1 for c in cases if "error" in c)
        print(f"{os.path.relpath(path, ROOT)}: {len(cases)} cases ({errors} expected errors)")


if __name__ == "__main__":
    main()
