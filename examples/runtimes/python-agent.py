#!/usr/bin/env python3
"""A small agent speaking loopwork's NDJSON protocol (loopwork-ndjson v1, docs/runtimes/process.md).

loopwork writes a `start` line on stdin; the agent writes one JSON object per line on stdout. Before
each model call it asks leave (`model-call`) and gets the output cap its budgets allow; it reports
each call's usage (`turn`), asks loopwork to run loopwork's tools (`tool-call` -> `tool-result`),
checkpoints its own state (`checkpoint`; given back as `resume` after a crash or for a follow-up)
and ends with `result`. Its "model" here is a stand-in (no network, no packages): it adds the
numbers of the prompt with the `add` tool, then answers. Standard library only.
"""
import json
import re
import sys


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def receive():
    line = sys.stdin.readline()
    if not line:  # loopwork closed stdin: it is gone or stopping us
        sys.exit(0)
    return json.loads(line)


def model(messages, max_output_tokens):
    """Stands in for an LLM call: the next step of adding up the prompt's numbers."""
    numbers = [int(n) for n in re.findall(r"-?\d+", messages[0]["content"])]
    results = [m for m in messages if m["role"] == "tool"]
    total = int(results[-1]["output"]) if results else numbers[0]
    if len(results) < len(numbers) - 1:
        b = numbers[len(results) + 1]
        return {"tool_call": {"id": f"add_{len(results) + 1}", "name": "add", "input": {"a": total, "b": b}}}
    return {"text": f"The sum is {total}."[: max_output_tokens * 4]}


send({"type": "hello", "protocol": "loopwork-ndjson", "version": 1})
start = receive()
state = start["resume"] or {"messages": []}
if start.get("prompt") is not None and start.get("resumeKind") != "attempt":
    state["messages"].append({"role": "user", "content": start["prompt"]})

while True:
    call_id = f"call_{len(state['messages'])}"
    estimate = len(json.dumps(state["messages"])) // 4 + 1
    send({"type": "model-call", "id": call_id, "modelId": "python-stand-in", "estimatedInputTokens": estimate})
    leave = receive()
    if leave["type"] != "model-call-allowed":  # refused: a budget or the turn cap is reached
        sys.exit(0)
    answer = model(state["messages"], leave["maxOutputTokens"])
    usage = {"inputTokens": estimate, "outputTokens": 12}
    if "tool_call" in answer:
        send({"type": "turn", "id": call_id, "usage": usage, "stopReason": "tool_use"})
        call = answer["tool_call"]
        state["messages"].append({"role": "assistant", "tool_call": call})
        send({"type": "tool-call", **call})
        result = receive()
        state["messages"].append({"role": "tool", "output": result["output"]})
        send({"type": "checkpoint", "handle": state})
        continue
    send({"type": "text", "text": answer["text"]})
    send({"type": "turn", "id": call_id, "usage": usage, "stopReason": "end_turn"})
    state["messages"].append({"role": "assistant", "text": answer["text"]})
    send({"type": "checkpoint", "handle": state})
    send({"type": "result", "output": answer["text"]})
    break
