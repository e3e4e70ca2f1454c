import { LoopworkError, ModelError, type ModelRequest, type ModelStreamPart } from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';

const request = (overrides: Partial<ModelRequest> = {}): ModelRequest => ({
  messages: [{ role: 'user', content: 'hello' }],
  maxOutputTokens: 1000,
  ...overrides,
});
const signal = new AbortController().signal;
const tokensOf = (value: unknown) =>
  Math.ceil(new TextEncoder().encode(JSON.stringify(value)).length / 4);

async function collect(parts: AsyncIterable<ModelStreamPart>) {
  const out: ModelStreamPart[] = [];
  for await (const part of parts) out.push(part);
  return out;
}

describe('ScriptedModel', () => {
  it('implements the model contract and records every request', async () => {
    const model = new ScriptedModel({ turns: [{ text: 'one' }, { text: 'two' }] });
    expect([model.specificationVersion, model.provider, model.modelId]).toEqual([
      'loopwork.model.v1',
      'scripted',
      'scripted',
    ]);
    const first = request();
    const second = request({ system: 'sys' });
    await model.generate(first, { signal });
    await model.generate(second, { signal });
    expect(model.requests).toEqual([first, second]);
  });

  it('answers with text and tool calls; ids default to call_<turn>_<index>', async () => {
    const model = new ScriptedModel({
      turns: [
        {
          text: 'Sure.',
          toolCalls: [
            { name: 'a', input: { x: 1 } },
            { name: 'b', input: {}, id: 'mine' },
          ],
        },
      ],
    });
    const response = await model.generate(request(), { signal });
    expect(response.message).toEqual({
      role: 'assistant',
      content: [
        { type: 'text', text: 'Sure.' },
        { type: 'tool-call', id: 'call_1_0', name: 'a', input: { x: 1 } },
        { type: 'tool-call', id: 'mine', name: 'b', input: {} },
      ],
    });
    expect(response.stopReason).toBe('tool_use');
  });

  it('derives usage at ~4 bytes per token unless scripted', async () => {
    const model = new ScriptedModel({
      turns: [
        { text: 'abcdefgh' },
        { text: 'x', usage: { inputTokens: 7, cacheReadTokens: 3, outputTokens: 2 } },
      ],
    });
    const r = request({ system: 'be nice' });
    const derived = await model.generate(r, { signal });
    expect(derived.usage).toEqual({
      inputTokens: tokensOf([r.system, r.tools, r.messages]),
      outputTokens: tokensOf(['abcdefgh', []]),
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
    });
    expect((await model.generate(r, { signal })).usage).toEqual({
      inputTokens: 7,
      outputTokens: 2,
      cacheReadTokens: 3,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
    });
  });

  it('cuts output off at maxOutputTokens: drops tool calls, truncates text, stop reason max_tokens', async () => {
    const model = new ScriptedModel({
      turns: [
        {
          text: 'z'.repeat(100),
          toolCalls: [{ name: 'a', input: {} }],
          usage: { outputTokens: 500 },
        },
      ],
    });
    const response = await model.generate(request({ maxOutputTokens: 10 }), { signal });
    expect(response.stopReason).toBe('max_tokens');
    expect(response.usage.outputTokens).toBe(10);
    expect(response.message.content).toEqual([{ type: 'text', text: 'z'.repeat(40) }]);
  });

  it('streams chunks as text deltas, then tool calls (start, input pieces, call), then exactly one finish', async () => {
    const model = new ScriptedModel({
      turns: [{ chunks: ['Hel', 'lo'], toolCalls: [{ name: 'a', input: { q: 1 }, id: 't' }] }],
    });
    if (!model.stream) throw new Error('a scripted model streams by default');
    const parts = await collect(model.stream(request(), { signal }));
    expect(parts.map((p) => p.type)).toEqual([
      'text-delta',
      'text-delta',
      'tool-call-start',
      'tool-call-delta',
      'tool-call-delta',
      'tool-call',
      'finish',
    ]);
    expect(parts.slice(2, 5)).toEqual([
      { type: 'tool-call-start', id: 't', name: 'a' },
      { type: 'tool-call-delta', id: 't', inputTextDelta: '{"q"' },
      { type: 'tool-call-delta', id: 't', inputTextDelta: ':1}' },
    ]);
    expect(parts.slice(0, 2)).toEqual([
      { type: 'text-delta', text: 'Hel' },
      { type: 'text-delta', text: 'lo' },
    ]);
    const finish = parts.at(-1);
    expect(finish?.type === 'finish' && finish.response.message.content[0]).toEqual({
      type: 'text',
      text: 'Hello',
    });
  });

  it('throws scripted errors as ModelErrors and consumes the turn', async () => {
    const model = new ScriptedModel({
      turns: [{ error: { kind: 'rate_limit', status: 429, retryAfterMs: 10 } }, { text: 'ok' }],
    });
    const error = await model.generate(request(), { signal }).catch((e: unknown) => e);
    expect(ModelError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      kind: 'rate_limit',
      status: 429,
      retryAfterMs: 10,
      provider: 'scripted',
      retryable: true,
    });
    expect((await model.generate(request(), { signal })).message.content).toEqual([
      { type: 'text', text: 'ok' },
    ]);
  });

  it('an exhausted script throws script_exhausted', async () => {
    const model = new ScriptedModel({ turns: [] });
    const error = await model.generate(request(), { signal }).catch((e: unknown) => e);
    expect(LoopworkError.isInstance(error) && error.code).toBe('script_exhausted');
    expect((error as Error).message).toBe(
      '[loopwork:scripted] call 1 has no scripted turn (the script has 0)',
    );
  });

  it('a delay is abortable through the call signal', async () => {
    const model = new ScriptedModel({ turns: [{ text: 'late', delayMs: 60_000 }] });
    const controller = new AbortController();
    const pending = model.generate(request(), { signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
  });

  it('a function script sees each request and its index', async () => {
    const seen: number[] = [];
    const model = new ScriptedModel({
      modelId: 'custom',
      streaming: false,
      turns: (req, index) => {
        seen.push(index);
        return { text: `${index}:${req.messages.length}` };
      },
    });
    expect(model.stream).toBeUndefined();
    expect(model.modelId).toBe('custom');
    const r = await model.generate(request(), { signal });
    expect(r.message.content).toEqual([{ type: 'text', text: '0:1' }]);
    await model.generate(request(), { signal });
    expect(seen).toEqual([0, 1]);
  });
});
