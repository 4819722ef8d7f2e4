#!/usr/bin/env python3
"""Load check for jan-server (not a timed test): N concurrent streaming chat clients on loopback.

Every client must either complete its stream or get a 429 from the bounded queue; a hang (no answer within
--timeout) or any other error fails the run. Prints throughput, time to first token (p50 / p95) and the
server's peak memory.

Usage: ci/load-test.sh [--clients N | --clients-list 1,4,16,64] [--max-tokens M] [--slots S|auto] [--queue Q]
                       [--model-file F] [--env KEY=VALUE]... [--expect-device cuda] [--json FILE]
(ci/load-test.sh builds the release binary and runs this with the test venv's python, which has httpx.)

--clients-list runs each client count in turn against one server, after a short warm-up (the model's load, then
a small concurrent burst), and prints a table. The queue then defaults to the largest count, so that no client
needs to be turned away. --env passes settings to the server (JAN_DEVICE=cuda, JAN_PARALLEL=64, ...; the
caller's own JAN_* variables never reach it); with JAN_PARALLEL given and no --slots, the model.json has no
n_parallel, so JAN_PARALLEL decides. --expect-device cuda checks, once the model is loaded, that the server
runs it on a device whose name starts with `cuda` (`loaded_models[].device` of GET /api/system; /health names
the loaded models) and, for a CUDA device, that GET /api/system lists a GPU (`gpus`); both responses go into
the JSON, and a mismatch fails the run. --json writes every figure (also when the run fails).

--llama-server BIN runs the same load against llama.cpp's server instead (`BIN -m MODEL --host 127.0.0.1 --port P`,
its defaults otherwise, plus any --llama-arg), for the comparison in the same run on the same machine.

Exit status: 0 pass, 1 a client failed or hung or the device check failed, 2 the server or the warm-up failed.
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
        try:
            target.symlink_to(pathlib.Path(model_file).resolve())
        except OSError:
            shutil.copy(model_file, target)
    settings = {"ctx_len": ctx}
    if slots is not None:
        settings["n_parallel"] = slots
    model_json = {
        "id": MODEL_ID, "object": "model", "name": MODEL_ID, "version": "1.0", "format": "gguf",
        "sources": [{"filename": target.name, "url": target.name}],
        "settings": settings,
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
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": f"Tell me fact number {index} about the ocean."}],
    }
    started = time.perf_counter()
    ttft, chunks, usage_tokens = None, 0, None
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
                    usage = chunk.get("usage")
                    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
                        usage_tokens = usage["completion_tokens"]
                    for choice in chunk.get("choices") or []:
                        if choice.get("delta", {}).get("content"):
                            chunks += 1
                            if ttft is None:
                                ttft = time.perf_counter() - started
                if not done:
                    return {"outcome": "error", "detail": "the stream ended without [DONE]"}
    except TimeoutError:
        return {"outcome": "hang"}
    except httpx.HTTPError as e:
        return {"outcome": "error", "detail": repr(e)}
    seconds = time.perf_counter() - started
    # The usage chunk counts tokens; content chunks undercount (a token can be an incomplete UTF-8 sequence).
    tokens = usage_tokens if usage_tokens is not None else chunks
    stream_rate = None
    if ttft is not None and tokens > 1 and seconds > ttft:
        stream_rate = (tokens - 1) / (seconds - ttft)
    return {"outcome": "ok", "ttft": ttft, "tokens": tokens, "seconds": seconds, "stream_tok_s": stream_rate}


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))] if values else None


def summarize(clients, results, wall, peak_kib):
    ok = [r for r in results if r["outcome"] == "ok"]
    busy = [r for r in results if r["outcome"] == "429"]
    hung = [r for r in results if r["outcome"] == "hang"]
    bad = [r for r in results if r["outcome"] not in ("ok", "429")]
    tokens = sum(r["tokens"] for r in ok)
    ttfts = [r["ttft"] for r in ok if r["ttft"] is not None]
    rates = [r["stream_tok_s"] for r in ok if r["stream_tok_s"] is not None]
    rnd = lambda x, n=3: None if x is None else round(x, n)
    return {
        "clients": clients,
        "completed": len(ok),
        "http_429": len(busy),
        "errors": len(bad),
        "hangs": len(hung),
        "error_details": [r for r in bad][:5],
        "wall_s": round(wall, 3),
        "completion_tokens": tokens,
        "aggregate_tok_s": round(tokens / wall, 2) if wall > 0 else None,
        "ttft_p50_s": rnd(pct(ttfts, 0.5)),
        "ttft_p95_s": rnd(pct(ttfts, 0.95)),
        "ttft_mean_s": rnd(statistics.mean(ttfts)) if ttfts else None,
        "per_stream_tok_s_p50": rnd(pct(rates, 0.5), 2),
        "per_stream_tok_s_mean": rnd(statistics.mean(rates), 2) if rates else None,
        "per_stream_tok_s_min": rnd(min(rates), 2) if rates else None,
        "peak_rss_mib": round(peak_kib / 1024, 1),
    }


def get_json(base, path):
    try:
        r = httpx.get(f"{base}{path}", timeout=30)
        try:
            body = r.json()
        except ValueError:
            body = r.text[:2000]
        return {"status": r.status_code, "body": body}
    except httpx.HTTPError as e:
        return {"status": None, "body": repr(e)}


def find_devices(value):
    """Every `device` string in a JSON value, with the model it belongs to when the object names one."""
    found = []
    if isinstance(value, dict):
        if isinstance(value.get("device"), str):
            found.append((value.get("model_id") or value.get("id") or value.get("model"), value["device"]))
        for v in value.values():
            found.extend(find_devices(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(find_devices(v))
    return found


def device_check(base, expect):
    """The model's device and the GPUs, as the server reports them once the model is loaded."""
    health = get_json(base, "/health")
    system = get_json(base, "/api/system")
    problems = []
    hb = health["body"] if isinstance(health["body"], dict) else {}
    sb = system["body"] if isinstance(system["body"], dict) else {}
    if health["status"] != 200:
        problems.append(f"GET /health answered {health['status']}")
    elif MODEL_ID not in (hb.get("models_loaded") or []):
        problems.append(f"GET /health does not list {MODEL_ID} as loaded: {hb}")
    # /health names the loaded models; a device there (should it ever report one) wins, else /api/system's.
    devices = [d for m, d in find_devices(hb) if m in (None, MODEL_ID)]
    source = "/health"
    if not devices:
        devices = [m.get("device") for m in sb.get("loaded_models") or [] if m.get("model_id") == MODEL_ID]
        devices = [d for d in devices if isinstance(d, str)]
        source = "/api/system loaded_models[].device"
    if system["status"] != 200:
        problems.append(f"GET /api/system answered {system['status']}")
    if not devices:
        problems.append(f"no device reported for {MODEL_ID}")
    elif not all(d.startswith(expect) for d in devices):
        problems.append(f"{MODEL_ID} runs on {devices}, expected {expect}*")
    gpus = sb.get("gpus")
    if expect.startswith("cuda") and not gpus:
        problems.append(f"GET /api/system lists no GPU (gpus: {gpus!r})")
    return {
        "expected": expect, "devices": devices, "device_source": source,
        "gpus": [g.get("name") for g in gpus or [] if isinstance(g, dict)],
        "ok": not problems, "problems": problems, "health": health, "system": system,
    }


async def run(args, base, pid, counts, report):
    peak = {"all": rss_kib(pid), "round": 0}

    async def sample():
        while True:
            now = rss_kib(pid)
            peak["all"], peak["round"] = max(peak["all"], now), max(peak["round"], now)
            await asyncio.sleep(0.1)

    limits = httpx.Limits(max_connections=max(counts) + 4, max_keepalive_connections=max(counts) + 4)
    async with httpx.AsyncClient(timeout=None, limits=limits) as client:
        # Load the model first, so that the run measures serving rather than loading.
        started = time.perf_counter()
        warm = await one_client(client, base, 0, 4, args.timeout)
        report["load_and_first_request_s"] = round(time.perf_counter() - started, 3)
        if warm["outcome"] != "ok":
            report["error"] = f"warm-up failed: {warm}"
            return 2
        if args.clients_list:
            # A short concurrent burst, so that the batched path has run once before anything is timed.
            n = min(args.warmup, max(counts))
            burst = await asyncio.gather(*(one_client(client, base, 10_000 + i, 8, args.timeout) for i in range(n)))
            report["warmup"] = {"clients": n, "outcomes": [r["outcome"] for r in burst]}
        report["idle_rss_mib"] = round(rss_kib(pid) / 1024, 1)
        status = 0
        if args.expect_device:
            check = await asyncio.to_thread(device_check, base, args.expect_device)
            report["device_check"] = check
            print(f"device check     {'ok' if check['ok'] else 'FAILED'}: {MODEL_ID} on {check['devices']} "
                  f"({check['device_source']}), GPUs {check['gpus']}", flush=True)
            for p in check["problems"]:
                print(f"  {p}", flush=True)
            if not check["ok"]:
                status = 1
        sampler = asyncio.create_task(sample())
        rounds = report["rounds"]
        try:
            for n in counts:
                peak["round"] = rss_kib(pid)
                started = time.perf_counter()
                results = await asyncio.gather(
                    *(one_client(client, base, i + 1, args.max_tokens, args.timeout) for i in range(n))
                )
                wall = time.perf_counter() - started
                rounds.append(summarize(n, results, wall, max(peak["round"], rss_kib(pid))))
                if args.clients_list:
                    r = rounds[-1]
                    print(f"  {n:>4} clients: {r['aggregate_tok_s']} tok/s, ttft p50 {r['ttft_p50_s']} s, "
                          f"errors {r['errors']}, 429 {r['http_429']}", flush=True)
        finally:
            sampler.cancel()
        report["peak_rss_mib"] = round(max(peak["all"], rss_kib(pid)) / 1024, 1)
    return status


def parse_env(items):
    env = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            sys.exit(f"--env takes KEY=VALUE, not {item!r}")
        env[key] = value
    return env


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="target/release/jan-server")
    parser.add_argument("--model-file", default=os.path.expanduser("~/.cache/jan-test-models/gemma-3-270m-q4_k_m.gguf"))
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--clients-list", help="client counts to run in turn against one server, e.g. 1,4,16,64")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--slots", default=None,
                        help="the model's n_parallel, or `auto` (none in model.json: JAN_PARALLEL or the server's "
                             "default decides); default 4, or auto when --env JAN_PARALLEL=... is given")
    parser.add_argument("--queue", type=int, default=None,
                        help="the server's --queue-size (default 16, with --clients-list the largest count)")
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--timeout", type=float, default=600, help="seconds after which a client counts as hung")
    parser.add_argument("--warmup", type=int, default=4, help="concurrent warm-up requests before --clients-list")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="for the server (repeatable)")
    parser.add_argument("--expect-device", metavar="PREFIX", help="e.g. cuda: the model must run on cuda*")
    parser.add_argument("--json", metavar="FILE", help="write every figure here")
    parser.add_argument("--server-log", metavar="FILE", help="the server's stdout and stderr (default: discarded)")
    parser.add_argument("--health-timeout", type=float, default=60, help="seconds to wait for the server to listen")
    parser.add_argument("--llama-server", metavar="BIN", help="load llama.cpp's server instead of jan-server")
    parser.add_argument("--llama-arg", action="append", default=[], metavar="ARG",
                        help="an extra argument for llama-server (repeatable), e.g. --llama-arg=-nr")
    args = parser.parse_args()

    if args.clients_list:
        try:
            counts = [int(c) for c in args.clients_list.split(",") if c.strip()]
        except ValueError:
            sys.exit(f"--clients-list takes numbers separated by commas, not {args.clients_list!r}")
        if not counts or min(counts) < 1:
            sys.exit("--clients-list needs at least one count of 1 or more")
    else:
        counts = [args.clients]
    server_env = parse_env(args.env)
    if args.slots is None:
        slots = None if "JAN_PARALLEL" in server_env else 4
    elif args.slots == "auto":
        slots = None
    else:
        slots = int(args.slots)
    queue = args.queue if args.queue is not None else (max(16, max(counts)) if args.clients_list else 16)

    report = {
        "generated_by": "ci/load-test.py",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "model_file": str(args.model_file), "model": pathlib.Path(args.model_file).name,
        "server": args.llama_server or args.server, "server_env": server_env,
        "llama_server_args": args.llama_arg if args.llama_server else None,
        "slots": slots if slots is not None else "auto", "queue": queue, "ctx": args.ctx,
        "max_tokens": args.max_tokens, "client_counts": counts, "expect_device": args.expect_device,
        "rounds": [],
    }

    def finish(status):
        report["exit_status"] = status
        report["ok"] = status == 0
        if args.json:
            path = pathlib.Path(args.json)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(report, indent=1) + "\n")
        return status

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    if not os.path.isfile(args.model_file):
        report["error"] = f"no model file {args.model_file}"
        print(report["error"], file=sys.stderr)
        sys.exit(finish(2))
    folder = data_folder(args.model_file, args.ctx, slots)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAN_")}
    if args.server_log:
        env["NO_COLOR"] = "1"  # plain text in the log file
    env.update(server_env)
    log = open(args.server_log, "ab") if args.server_log else subprocess.DEVNULL
    status = 2
    try:
        try:
            if args.llama_server:
                command = [args.llama_server, "-m", str(args.model_file), "--host", "127.0.0.1", "--port", str(port),
                           *args.llama_arg]
            else:
                command = [args.server, "--data-folder", str(folder), "--port", str(port), "--queue-size", str(queue)]
            server = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT if args.server_log else subprocess.DEVNULL,
            )
        except OSError as e:
            report["error"] = f"cannot start {args.server}: {e}"
            print(report["error"], file=sys.stderr)
            sys.exit(finish(2))
        try:
            deadline = time.monotonic() + args.health_timeout
            up = False
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                        up = True
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            if not up:
                report["error"] = (f"the server exited with {server.returncode}" if server.poll() is not None
                                   else f"the server did not answer /health within {args.health_timeout:.0f} s")
            else:
                status = asyncio.run(run(args, base, server.pid, counts, report))
        except KeyboardInterrupt:
            # SIGTERM (a `timeout` around this script) or Ctrl-C: the rounds done so far are kept.
            report["error"] = f"interrupted after {len(report['rounds'])} of {len(counts)} rounds"
            status = 1
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            report["server_exit_status"] = server.returncode
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        if args.server_log:
            log.close()

    if report.get("error"):
        print(report["error"], file=sys.stderr)
    bad = any(r["errors"] for r in report["rounds"])
    if status == 0 and bad:
        status = 1
    if args.clients_list:
        if args.llama_server:
            print(f"model            {report['model']} on llama.cpp's server ({' '.join(args.llama_arg) or 'its defaults'})")
        else:
            print(f"model            {report['model']} (slots {report['slots']}, queue {queue}, ctx {args.ctx})")
        print(f"server env       {' '.join(f'{k}={v}' for k, v in server_env.items()) or '(none)'}")
        print(f"max_tokens       {args.max_tokens}; RSS {report.get('idle_rss_mib', 0):.0f} MiB idle after warm-up, "
              f"{report.get('peak_rss_mib', 0):.0f} MiB peak")
        print(f"{'clients':>7} {'done':>5} {'429':>4} {'err':>4} {'wall s':>7} {'agg tok/s':>10} "
              f"{'ttft p50':>9} {'ttft p95':>9} {'stream tok/s':>12} {'peak MiB':>9}")
        fmt = lambda x, spec: "-" if x is None else format(x, spec)
        for r in report["rounds"]:
            print(f"{r['clients']:>7} {r['completed']:>5} {r['http_429']:>4} {r['errors']:>4} {r['wall_s']:>7.1f} "
                  f"{fmt(r['aggregate_tok_s'], '10.1f')} {fmt(r['ttft_p50_s'], '9.3f')} {fmt(r['ttft_p95_s'], '9.3f')} "
                  f"{fmt(r['per_stream_tok_s_p50'], '12.1f')} {r['peak_rss_mib']:>9.0f}")
    elif report["rounds"]:
        r = report["rounds"][0]
        print(f"model            {report['model']} (slots {report['slots']}, queue {queue})")
        print(f"clients          {r['clients']} streaming, max_tokens {args.max_tokens}")
        print(f"completed        {r['completed']}")
        print(f"429 (queue full) {r['http_429']}")
        print(f"failed or hung   {r['errors']}")
        print(f"wall time        {r['wall_s']:.1f} s")
        print(f"throughput       {r['aggregate_tok_s']:.1f} tokens/s ({r['completion_tokens']} tokens)")
        nan = lambda x: float("nan") if x is None else x
        print(f"ttft p50 / p95   {nan(r['ttft_p50_s']):.2f} s / {nan(r['ttft_p95_s']):.2f} s")
        if r["ttft_mean_s"] is not None:
            print(f"ttft mean        {r['ttft_mean_s']:.2f} s")
        print(f"server RSS       {report['idle_rss_mib']:.0f} MiB idle after warm-up, "
              f"{report['peak_rss_mib']:.0f} MiB peak under load")
    for r in report["rounds"]:
        for d in r["error_details"]:
            print(f"  {d}")
    sys.exit(finish(status))


if __name__ == "__main__":
    main()
