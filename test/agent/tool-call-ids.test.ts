// Issue 10's reproductions: tool-call ids that collide (twice `call_0` in one message, an empty id,
// an id reused in a later turn, a scripted model's ids after a resume) used to run as one call with
// one idempotency key and lose a result while the run reported `completed`. Each test fails on the
// loop before uniqueToolCallIds and the per-run ScriptedModel ids.
import { type AssistantMessage, type RunState, runAgent, type ToolMessage } from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { countingEcho } from './helpers';

/** Every tool call of the transcript with the result the model received for it. */
function callsAndResults(state: RunState) {
  const pairs: Array<{ id: string; input: unknown; output: string | undefined }> = [];
  state.messages.forEach((message, index) => {
    if (message.role !== 'assistant') return;
    const next = state.messages[index + 1] as ToolMessage | undefined;
    for (const part of (message as AssistantMessage).content) {
      if (part.type !== 'tool-call') continue;
      const results = next?.content.filter((result) => result.toolCallId === part.id) ?? [];
      expect(results, `results for ${part.id}`).toHaveLength(1);
      pairs.push({ id: part.id, input: part.input, output: results[0]?.output });
    }
  });
  return pairs;
}

describe('tool-call ids that collide', () => {
  it('runs two calls sharing an id in one message as two calls, each result reaching the model', async () => {
    const { tool, executions } = countingEcho();
    const model = new ScriptedModel({
      turns: [
        {
          toolCalls: [
            { name: 'echo', input: { text: 'first' }, id: 'call_0' },
            { name: 'echo', input: { text: 'second' }, id: 'call_0' },
          ],
        },
        { text: 'done' },
      ],
    });
    const result = await runAgent({ model, prompt: 'go', tools: [tool], runId: 'dup' });
    expect(result.status).toBe('completed');
    expect([...executions.values()]).toEqual([1, 1]);
    const pairs = callsAndResults(result.state);
    expect(pairs.map((pair) => pair.output)).toEqual(['echo: first', 'echo: second']);
    expect(new Set(pairs.map((pair) => pair.id)).size).toBe(2);
    // The first keeps the provider's id; the second is renamed deterministically.
    expect(pairs.map((pair) => pair.id)).toEqual(['call_0', 'call_0_lw1_1']);
    // What the model is sent next carries both results, under the ids of the calls it is sent.
    const tools = model.requests[1]?.messages.at(-1) as ToolMessage;
    expect(tools.content.map((part) => [part.toolCallId, part.output])).toEqual([
      ['call_0', 'echo: first'],
      ['call_0_lw1_1', 'echo: second'],
    ]);
  });

  it('gives empty ids (a loosely compatible server) distinct ids of their own', async () => {
    const { tool, executions } = countingEcho();
    const model = new ScriptedModel({
      turns: [
        {
          toolCalls: [
            { name: 'echo', input: { text: 'a' }, id: '' },
            { name: 'echo', input: { text: 'b' }, id: '' },
          ],
        },
        { text: 'done' },
      ],
    });
    const result = await runAgent({ model, prompt: 'go', tools: [tool], runId: 'empty' });
    expect([...executions.keys()]).toEqual(['empty:call_lw1_0', 'empty:call_lw1_1']);
    expect(callsAndResults(result.state).map((pair) => pair.output)).toEqual([
      'echo: a',
      'echo: b',
    ]);
  });

  it('renames an id reused in a later turn, so the second call is not taken for the first', async () => {
    const { tool, executions } = countingEcho();
    const model = new ScriptedModel({
      turns: [
        { toolCalls: [{ name: 'echo', input: { text: 'one' }, id: 'call_0' }] },
        { toolCalls: [{ name: 'echo', input: { text: 'two' }, id: 'call_0' }] },
        { text: 'done' },
      ],
    });
    const result = await runAgent({ model, prompt: 'go', tools: [tool], runId: 'reuse' });
    expect(executions).toEqual(
      new Map([
        ['reuse:call_0', 1],
        ['reuse:call_0_lw2_0', 1],
      ]),
    );
    expect(callsAndResults(result.state).map((pair) => pair.output)).toEqual([
      'echo: one',
      'echo: two',
    ]);
  });
});

describe('ScriptedModel ids', () => {
  const steps = (request: { messages: readonly { role: string }[] }) => {
    const done = request.messages.filter((message) => message.role === 'assistant').length;
    return done < 4
      ? { toolCalls: [{ name: 'echo', input: { text: `step ${done + 1}` } }] }
      : { text: 'all done' };
  };

  it('are unique within a run continued by a new model instance (a resume in another process)', async () => {
    const { tool, executions } = countingEcho();
    const first = await runAgent({
      model: new ScriptedModel({ turns: steps }),
      prompt: 'go',
      tools: [tool],
      runId: 'resumed',
      maxTurns: 2,
    });
    expect(first.status).toBe('max_turns');
    const second = await runAgent({
      model: new ScriptedModel({ turns: steps }),
      state: first.state,
      tools: [tool],
      maxTurns: 10,
    });
    expect(second.status).toBe('completed');
    expect([...executions.keys()]).toEqual([
      'resumed:call_1_0',
      'resumed:call_2_0',
      'resumed:call_3_0',
      'resumed:call_4_0',
    ]);
    expect([...executions.values()]).toEqual([1, 1, 1, 1]);
  });

  it('are the same in every run sharing one model (an agentTask serving many dispatches)', async () => {
    const { tool, executions } = countingEcho();
    const model = new ScriptedModel({ turns: steps });
    for (const runId of ['a', 'b']) {
      const result = await runAgent({ model, prompt: 'go', tools: [tool], runId });
      expect(result.status).toBe('completed');
    }
    expect([...executions.keys()].filter((key) => key.startsWith('b:'))).toEqual([
      'b:call_1_0',
      'b:call_2_0',
      'b:call_3_0',
      'b:call_4_0',
    ]);
  });
});
