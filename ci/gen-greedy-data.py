#!/usr/bin/env python3
"""Writes core/tests/data/greedy/<model>.json: llama.cpp's greedy continuations of a few prompts, the reference
the core's forward pass is tested against.

For each test model it starts llama.cpp's llama-server on 127.0.0.1 (built by ci/build-llama-cpp.sh), tokenizes
each prompt with the server (special tokens parsed, BOS as the model wants), and asks for N tokens at
temperature 0 with `return_tokens`, the prompt given as token ids so that no re-tokenization is involved.

Usage: ci/gen-greedy-data.py [N_PREDICT]   (default 48)
       ci/gen-greedy-data.py [N_PREDICT] --model PATH [--out FILE] [--llama-bin DIR] [--ngl N] [--llama-arg=ARG]...

With --model, the reference for that one model file only, written to --out (default
core/tests/data/greedy/<model>.json): its prompts from the table below, or for a file not in it a few generic ones
(a short one, a chat-formatted one when the model has a chat template, a long one of about 1500 tokens).
--llama-bin is the folder holding llama-server (default: $LLAMA_CPP_DIR/bin); --ngl N is passed as `-ngl N`
(layers on the GPU, for a CUDA build of llama.cpp); --llama-arg=ARG adds ARG to llama-server's arguments (e.g.
--llama-arg=-nr: no repacked CPU weights, where llama.cpp's AMX path crashes).
Environment: JAN_TEST_MODELS, LLAMA_CPP_DIR (as the other scripts).
"""

import argparse
import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = Path(os.environ.get("JAN_TEST_MODELS", Path.home() / ".cache/jan-test-models"))
LLAMA = Path(os.environ.get("LLAMA_CPP_DIR", Path.home() / ".cache/jan-llama-cpp")) / "bin"
OUT = ROOT / "core/tests/data/greedy"
N_PREDICT = 48
# -ngl N for llama-server (--ngl) and --llama-arg's; none: the build's defaults.
NGL = []

LONG = " ".join(
    f"Paragraph {i}: the river keeps its own calendar, rising in spring and sinking in autumn, "
    f"while the town on its bank counts years by bridges built and lost."
    for i in range(1, 26)
)

# The core keeps keys and values in f32 and computes attention in f32; llama.cpp's defaults (f16 cache, flash
# attention) round differently, which flips near-ties (seen: a 0.004-nat gap at qwen's third token). llama.cpp with
# an f32 cache and without flash attention is the like-for-like reference.
PRECISION = ["-fa", "off", "-ctk", "f32", "-ctv", "f32"]

# About 1500 tokens, for a model that has no prompts of its own.
LONG_1500 = " ".join(
    f"Section {i}: the river keeps its own calendar, rising in spring and sinking in autumn, while the town on "
    f"its bank counts years by bridges built and lost, and the ferry keeper writes each flood's height on a post."
    for i in range(1, 33)
)

PROMPTS = {
    "gemma-3-270m-q4_k_m.gguf": [
        "The capital of France is",
        "def fibonacci(n):\n",
        "Once upon a time, in a small village by the sea,",
        "<start_of_turn>user\nWhat is the tallest mountain on Earth?<end_of_turn>\n<start_of_turn>model\n",
        "1, 2, 3, 4, 5,",
        LONG + "\nSummary:",
    ],
    "qwen2.5-coder-0.5b-instruct.gguf": [
        "The capital of France is",
        "def fibonacci(n):\n",
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        "Write a Python function that reverses a string.<|im_end|>\n<|im_start|>assistant\n",
        "// A Rust function that adds two numbers\nfn add(",
        "Les mots les plus courants en français sont",
        LONG + "\nSummary:",
    ],
}


def post(port, path, body):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def version():
    out = subprocess.run([str(LLAMA / "llama-server"), "--version"], capture_output=True, text=True)
    return (out.stdout + out.stderr).strip().splitlines()[-1]


def start_server(model, extra):
    """A llama-server for `model` (a path, or a name in MODELS) on a free port, once it answers /health."""
    port = free_port()
    server = subprocess.Popen(
        [str(LLAMA / "llama-server"), "-m", str(MODELS / model), "--host", "127.0.0.1", "--port", str(port),
         "-c", "4096", "-t", "2", "-np", "1", "--no-webui", *NGL, *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        if server.poll() is not None:
            raise RuntimeError(f"llama-server exited with {server.returncode} while loading {model}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    return server, port


def stop_server(server):
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def generic_prompts(model):
    """For a model without prompts of its own: a short prompt, a chat one (the model's own template, applied by
    llama-server) when it has a chat template, and a long one."""
    prompts = ["The capital of France is"]
    server, port = start_server(model, [])
    try:
        chat = None
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/props", timeout=30) as r:
                template = json.loads(r.read()).get("chat_template") or ""
        except (OSError, ValueError):
            template = ""
        if template:
            system, user = "You are a helpful assistant.", "Write a Python function that reverses a string."
            messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
            try:
                chat = post(port, "/apply-template", {"messages": messages})["prompt"]
            except (OSError, ValueError, KeyError) as e:
                if "<|im_start|>" in template:
                    chat = (f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
                            "<|im_start|>assistant\n")
                print(f"{Path(model).name}: /apply-template failed ({e}); "
                      f"{'ChatML written by hand' if chat else 'no chat prompt'}")
        if chat:
            prompts.append(chat)
    finally:
        stop_server(server)
    prompts.append(LONG_1500 + "\nSummary:")
    return prompts


def complete_all(model, prompts, extra):
    """Runs every prompt through a fresh llama-server with `extra` arguments; returns one result per prompt."""
    server, port = start_server(model, extra)
    try:
        results = []
        for prompt in prompts:
            ids = post(port, "/tokenize", {"content": prompt, "add_special": True, "parse_special": True})["tokens"]
            res = post(port, "/completion", {
                "prompt": ids, "n_predict": N_PREDICT, "temperature": 0, "top_k": 1, "samplers": ["top_k"],
                "cache_prompt": False, "return_tokens": True, "ignore_eos": False, "seed": 0, "n_probs": 2,
            })
            # The two best log-probabilities at each step: how close a tie the choice was.
            top2 = [[round(t["logprob"], 4) for t in step["top_logprobs"][:2]]
                    for step in res.get("completion_probabilities", [])]
            results.append((ids, res, top2))
        return results
    finally:
        stop_server(server)


def reference(model, prompts):
    """The reference data for `model` (a name in MODELS or a path) and its prompts."""
    label = Path(model).name
    exact = complete_all(model, prompts, PRECISION)
    default = complete_all(model, prompts, [])
    cases = []
    for prompt, (ids, res, top2), (_, res_default, _) in zip(prompts, exact, default):
        cases.append({"prompt": prompt, "prompt_ids": ids, "expected_ids": res["tokens"],
                      "expected_text": res["content"], "stop_type": res.get("stop_type"),
                      "top2_logprobs": top2, "default_config_ids": res_default["tokens"]})
        print(f"{label}: {len(ids)} prompt tokens -> {len(res['tokens'])} tokens: {res['content'][:60]!r}")
    return {
        "generated_by": "ci/gen-greedy-data.py",
        "llama_cpp": version(),
        "server_args": " ".join(["-c 4096 -t 2 -np 1", *NGL, *PRECISION]),
        "default_config_ids": "the same prompts with llama.cpp's defaults (f16 KV cache, flash attention auto)",
        "sampling": "temperature 0, top_k 1",
        "cases": cases,
    }


def main():
    global LLAMA, N_PREDICT, NGL
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n_predict", nargs="?", type=int, default=48, help="tokens to generate per prompt (48)")
    parser.add_argument("--model", type=Path, help="one model file (default: every model in the table)")
    parser.add_argument("--out", type=Path, help="with --model: the file to write")
    parser.add_argument("--llama-bin", type=Path, help="the folder holding llama-server")
    parser.add_argument("--ngl", type=int, help="llama-server's -ngl (layers on the GPU)")
    parser.add_argument("--llama-arg", action="append", default=[], metavar="ARG",
                        help="one more llama-server argument (repeatable; --llama-arg=-nr)")
    args = parser.parse_args()
    N_PREDICT = args.n_predict
    if args.llama_bin:
        LLAMA = args.llama_bin
    if args.ngl is not None:
        NGL = ["-ngl", str(args.ngl)]
    NGL += args.llama_arg
    if not (LLAMA / "llama-server").exists():
        parser.error(f"no llama-server in {LLAMA}")
    if args.out and not args.model:
        parser.error("--out goes with --model")

    if args.model:
        model = args.model.resolve()
        if not model.is_file():
            parser.error(f"no model file {args.model}")
        prompts = PROMPTS.get(model.name) or generic_prompts(model)
        out = args.out or OUT / f"{model.name.removesuffix('.gguf')}.json"
        data = reference(model, prompts)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {out}")
        return

    OUT.mkdir(parents=True, exist_ok=True)
    for model, prompts in PROMPTS.items():
        data = reference(model, prompts)
        name = model.removesuffix(".gguf")
        (OUT / f"{name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
