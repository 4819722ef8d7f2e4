#!/usr/bin/env python3
"""Writes core/tests/data/greedy/<model>.json: llama.cpp's greedy continuations of a few prompts, the reference
the core's forward pass is tested against.

For each test model it starts llama.cpp's llama-server on 127.0.0.1 (built by ci/build-llama-cpp.sh), tokenizes
each prompt with the server (special tokens parsed, BOS as the model wants), and asks for N tokens at
temperature 0 with `return_tokens`, the prompt given as token ids so that no re-tokenization is involved.

Usage: ci/gen-greedy-data.py [N_PREDICT]   (default 48)
Environment: JAN_TEST_MODELS, LLAMA_CPP_DIR (as the other scripts).
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = Path(os.environ.get("JAN_TEST_MODELS", Path.home() / ".cache/jan-test-models"))
LLAMA = Path(os.environ.get("LLAMA_CPP_DIR", Path.home() / ".cache/jan-llama-cpp")) / "bin"
OUT = ROOT / "core/tests/data/greedy"
N_PREDICT = int(sys.argv[1]) if len(sys.argv) > 1 else 48

LONG = " ".join(
    f"Paragraph {i}: the river keeps its own calendar, rising in spring and sinking in autumn, "
    f"while the town on its bank counts years by bridges built and lost."
    for i in range(1, 26)
)

# The core keeps keys and values in f32 and computes attention in f32; llama.cpp's defaults (f16 cache, flash
# attention) round differently, which flips near-ties (seen: a 0.004-nat gap at qwen's third token). llama.cpp with
# an f32 cache and without flash attention is the like-for-like reference.
PRECISION = ["-fa", "off", "-ctk", "f32", "-ctv", "f32"]

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


def complete_all(model, prompts, extra):
    """Runs every prompt through a fresh llama-server with `extra` arguments; returns one result per prompt."""
    port = free_port()
    server = subprocess.Popen(
        [str(LLAMA / "llama-server"), "-m", str(MODELS / model), "--host", "127.0.0.1", "--port", str(port),
         "-c", "4096", "-t", "2", "-np", "1", "--no-webui", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
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
        server.terminate()
        server.wait()


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for model, prompts in PROMPTS.items():
        exact = complete_all(model, prompts, PRECISION)
        default = complete_all(model, prompts, [])
        cases = []
        for prompt, (ids, res, top2), (_, res_default, _) in zip(prompts, exact, default):
            cases.append({"prompt": prompt, "prompt_ids": ids, "expected_ids": res["tokens"],
                          "expected_text": res["content"], "stop_type": res.get("stop_type"),
                          "top2_logprobs": top2, "default_config_ids": res_default["tokens"]})
            print(f"{model}: {len(ids)} prompt tokens -> {len(res['tokens'])} tokens: {res['content'][:60]!r}")
        data = {
            "generated_by": "ci/gen-greedy-data.py",
            "llama_cpp": version(),
            "server_args": "-c 4096 -t 2 -np 1 " + " ".join(PRECISION),
            "default_config_ids": "the same prompts with llama.cpp's defaults (f16 KV cache, flash attention auto)",
            "sampling": "temperature 0, top_k 1",
            "cases": cases,
        }
        name = model.removesuffix(".gguf")
        (OUT / f"{name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
