"""The official `openai` Python package against a running jan-server (driven by tests/openai_python.rs).

Usage: python openai_client.py BASE_URL API_KEY MODEL
Exits non-zero with the failed check on the first failure.
"""
import sys

import openai

base, key, model = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=120)

ids = [m.id for m in client.models.list()]
assert model in ids, ids

messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name a fruit."}]
chat = client.chat.completions.create(
    model=model,
    messages=messages,
    max_tokens=8,
    temperature=0,
)
choice = chat.choices[0]
assert chat.object == "chat.completion", chat
assert choice.message.role == "assistant" and choice.message.content, chat
assert choice.finish_reason in ("stop", "length"), chat
assert chat.usage.completion_tokens <= 8 and chat.usage.prompt_tokens > 0, chat.usage

pieces, finish, usage = [], None, None
stream = client.chat.completions.create(
    model=model,
    messages=messages,
    max_tokens=8,
    temperature=0,
    stream=True,
    stream_options={"include_usage": True},
)
for chunk in stream:
    if chunk.usage is not None:
        usage = chunk.usage
    for c in chunk.choices:
        if c.delta.content:
            pieces.append(c.delta.content)
        if c.finish_reason:
            finish = c.finish_reason
assert len(pieces) > 1 and finish == choice.finish_reason, (pieces, finish)
assert "".join(pieces) == choice.message.content, (pieces, choice.message.content)
assert usage is not None and usage.completion_tokens == chat.usage.completion_tokens, (usage, chat.usage)

text = client.completions.create(model=model, prompt="One, two, three,", max_tokens=4, temperature=0)
assert text.object == "text_completion" and text.choices[0].text is not None, text

try:
    client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    raise AssertionError("an unknown model was accepted")
except openai.NotFoundError as e:
    assert e.status_code == 404 and "no-such-model" in str(e), e

try:
    client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], temperature=5)
    raise AssertionError("temperature 5 was accepted")
except openai.BadRequestError as e:
    assert "temperature" in str(e), e

bad = openai.OpenAI(base_url=f"{base}/v1", api_key="sk-wrong", max_retries=0)
try:
    bad.models.list()
    raise AssertionError("a wrong key was accepted")
except openai.AuthenticationError as e:
    assert e.status_code == 401, e

print("openai client: all checks passed")
