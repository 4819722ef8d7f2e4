#!/usr/bin/env python3
"""Load check for jan-server (not a timed test): N concurrent streaming chat clients on loopback.

Every client must either complete its stream or get a 429 from the bounded queue; a hang (no answer within
--timeout) or any other error fails the run. Prints throughput, time to first token (p50 / p95) and the
server's peak memory.

Usage: ci/load-test.sh [--clients N] [--max-tokens M] [--slots S] [--queue Q] [--model-file F]
(ci/load-test.sh builds the release binary and runs this with the test venv's python, which has httpx.)
"""
import argparse
import asyncio
import json
import os
import pathlib
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import httpx

MODEL_ID = "load-test-model"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def data_folder(model_file, ctx, slots):
    """A data folder with the model as the desktop app leaves it: models/<id>/model.json next to the .gguf."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="jan-load-"))
    model_dir = folder / "models" / MODEL_ID
    model_dir.mkdir(parents=True)
    target = model_dir / pathlib.Path(model_file).name
    try:
        os.link(model_file, target)
    except OSError:
        shutil.copy(model_file, target)
    model_json = {
        "id": MODEL_ID, "object": "model", "name": MODEL_ID, "version": "1.0", "format": "gguf",
        "sources": [{"filename": target.name, "url": target.name}],
        "settings": {"ctx_len": ctx, "n_parallel": slots},
        "parameters": {"temperature": 0.7, "max_tokens": 256},
        "metadata": {}, "engine": "nitro",
    }
    (model_dir / "model.json").write_text(json.dumps(model_json, indent=2))
    return folder


def rss_kib(pid):
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def one_client(client, base, index, max_tokens, timeout):
    body = {
        "model": MODEL_ID, "stream": True, "max_tokens": max_tokens, "temperature": 0.7, "seed": index,
        "messages": [{"role": "user", "content": f"Tell me fact number {index} about the ocean."}],
    }
    started = time.perf_counter()
    ttft, tokens = None, 0
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("POST", f"{base}/v1/chat/completions", json=body) as response:
                if response.status_code == 429:
                    await response.aread()
                    return {"outcome": "429"}
                if response.status_code != 200:
                    return {"outcome": "error", "detail": f"{response.status_code} {(await response.aread())[:200]!r}"}
                done = False
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        break
                    chunk = json.loads(data)
                    if "error" in chunk:
                        return {"outcome": "error", "detail": str(chunk["error"])}
                    for choice in chunk.get("choices", []):
                        if choice.get("delta", {}).get("content"):
                            tokens += 1
                            if ttft is None:
                                ttft = time.perf_counter() - started
                if not done:
                    return {"outcome": "error", "detail": "the stream ended without [DONE]"}
    except TimeoutError:
        return {"outcome": "hang"}
    except httpx.HTTPError as e:
        return {"outcome": "error", "detail": repr(e)}
    return {"outcome": "ok", "ttft": ttft, "tokens": tokens, "seconds": time.perf_counter() - started}


async def run(args, base, pid):
    peak = [rss_kib(pid)]

    async def sample():
        while True:
            peak[0] = max(peak[0], rss_kib(pid))
            await asyncio.sleep(0.1)

    limits = httpx.Limits(max_connections=args.clients + 4)
    async with httpx.AsyncClient(timeout=None, limits=limits) as client:
        # Load the model first, so that the run measures serving rather than loading.
        warm = await one_client(client, base, 0, 4, args.timeout)
        if warm["outcome"] != "ok":
            sys.exit(f"warm-up failed: {warm}")
        idle_rss = rss_kib(pid)
        sampler = asyncio.create_task(sample())
        started = time.perf_counter()
        results = await asyncio.gather(
            *(one_client(client, base, i + 1, args.max_tokens, args.timeout) for i in range(args.clients))
        )
        wall = time.perf_counter() - started
        sampler.cancel()
    return results, wall, idle_rss, peak[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="target/release/jan-server")
    parser.add_argument("--model-file", default=os.path.expanduser("~/.cache/jan-test-models/gemma-3-270m-q4_k_m.gguf"))
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--slots", type=int, default=4, help="the model's n_parallel")
    parser.add_argument("--queue", type=int, default=16, help="the server's --queue-size")
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--timeout", type=float, default=600, help="seconds after which a client counts as hung")
    args = parser.parse_args()

    folder = data_folder(args.model_file, args.ctx, args.slots)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAN_")}
    server = subprocess.Popen(
        [args.server, "--data-folder", str(folder), "--port", str(port), "--queue-size", str(args.queue)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        results, wall, idle_rss, peak_rss = asyncio.run(run(args, base, server.pid))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)

    ok = [r for r in results if r["outcome"] == "ok"]
    busy = [r for r in results if r["outcome"] == "429"]
    bad = [r for r in results if r["outcome"] not in ("ok", "429")]
    tokens = sum(r["tokens"] for r in ok)
    ttfts = sorted(r["ttft"] for r in ok if r["ttft"] is not None)
    pct = lambda p: ttfts[min(len(ttfts) - 1, int(round(p * (len(ttfts) - 1))))] if ttfts else float("nan")
    print(f"model            {pathlib.Path(args.model_file).name} (slots {args.slots}, queue {args.queue})")
    print(f"clients          {args.clients} streaming, max_tokens {args.max_tokens}")
    print(f"completed        {len(ok)}")
    print(f"429 (queue full) {len(busy)}")
    print(f"failed or hung   {len(bad)}")
    print(f"wall time        {wall:.1f} s")
    print(f"throughput       {tokens / wall:.1f} tokens/s ({tokens} tokens)")
    print(f"ttft p50 / p95   {pct(0.5):.2f} s / {pct(0.95):.2f} s")
    if ttfts:
        print(f"ttft mean        {statistics.mean(ttfts):.2f} s")
    print(f"server RSS       {idle_rss / 1024:.0f} MiB idle after warm-up, {peak_rss / 1024:.0f} MiB peak under load")
    for r in bad:
        print(f"  {r}")
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
