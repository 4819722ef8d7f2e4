"""The core's request table (core/tests/requests/table.json) against a running jan-server, through the official
`openai` Python package (driven by tests/it/request_table.rs; bindings-node runs the same table over napi).

Usage: python request_table.py TABLE BASE_URL API_KEY MODEL
Prints one line per case and exits non-zero when any case gets another outcome than the table's.
"""
import inspect
import json
import sys

import openai

table_path, base, key, model = sys.argv[1:5]
table = json.load(open(table_path))
client = openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=300)
LONG = "word " * 700


def fill(value):
    if value == "$MODEL":
        return model
    if value == "$LONG":
        return LONG
    if isinstance(value, list):
        return [fill(v) for v in value]
    if isinstance(value, dict):
        return {k: fill(v) for k, v in value.items()}
    return value


def call(endpoint, request):
    """The typed `create` with the request's fields; those it has no parameter for go in `extra_body`."""
    create = client.chat.completions.create if endpoint == "chat" else client.completions.create
    known = set(inspect.signature(create).parameters)
    kwargs = {k: v for k, v in request.items() if k in known}
    extra = {k: v for k, v in request.items() if k not in known}
    if endpoint == "chat" and "messages" not in kwargs:
        kwargs["messages"] = openai.NOT_GIVEN
    if extra:
        kwargs["extra_body"] = extra
    if request.get("stream"):
        kwargs["stream_options"] = {"include_usage": True}
        stream = create(**kwargs)  # an error status raises here, before any chunk
        finish, usage = None, None
        for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                finish = choice.finish_reason or finish
        return {"finish_reason": finish, "completion_tokens": usage.completion_tokens if usage else None}
    result = create(**kwargs)
    return {"finish_reason": result.choices[0].finish_reason, "completion_tokens": result.usage.completion_tokens}


failed = []
for case in table["cases"]:
    expect = case["expect"]
    try:
        got = call(case["endpoint"], fill(case["request"]))
    except openai.APIStatusError as e:
        body = e.body if isinstance(e.body, dict) else {}
        got = {"status": e.status_code, "code": body.get("code"), "param": body.get("param")}
    except openai.APIError as e:
        # An error that came after the response started (a 200, then an error event): never what the table wants.
        got = {"status": 200, "error_after_start": str(e)}
    if "status" in expect:
        ok = (got.get("status"), got.get("code")) == (expect["status"], expect["code"]) and (
            "param" not in expect or got.get("param") == expect["param"]
        )
    else:
        ok = "status" not in got and (
            expect["finish_reason"] == "any" or got["finish_reason"] == expect["finish_reason"]
        ) and ("completion_tokens" not in expect or got["completion_tokens"] == expect["completion_tokens"])
    print(("ok   " if ok else "FAIL ") + case["name"] + ("" if ok else f": expected {expect}, got {got}"))
    if not ok:
        failed.append(case["name"])

if failed:
    print(f"{len(failed)} of {len(table['cases'])} cases failed")
    sys.exit(1)
print(f"all {len(table['cases'])} cases passed")
