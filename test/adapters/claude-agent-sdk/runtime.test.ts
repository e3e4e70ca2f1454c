// The Claude Agent SDK runtime's own behaviour beyond the conformance suite, on the real `claude`
// binary and the fake upstream: events in order, failure paths of tools (odd throws, a tool that
// hangs and ignores its signal), cancel during such a tool, upstream errors (redacted), bad input.
import {
  type AgentEvent,
  defineTool,
  InvalidOptionError,
  type RunState,
  type RuntimeResult,
  type RuntimeRunOptions,
} from 'loopwork';
import { claudeAgentRuntime, fakeAnthropicUpstream } from 'loopwork/claude-agent-sdk';
import type { ScriptedTurn } from 'loopwork/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

const MODEL = 'claude-sonnet-4-5';
const PRICES = { [MODEL]: { inputPerMTok: 3, outputPerMTok: 15 } };
const SECRET = 'sk-ant-api03-this-upstream-key-must-never-show-0000';
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closers) await close();
});

async function upstreamFor(turn: (n: number) => ScriptedTurn) {
  const upstream = await fakeAnthropicUpstream({ turn, apiKey: SECRET });
  closers.push(() => upstream.close());
  return upstream;
}

async function runOnce(
  runtime: ReturnType<typeof claudeAgentRuntime>,
  options: Partial<RuntimeRunOptions> = {},
): Promise<{ result: RuntimeResult; events: AgentEvent[] }> {
  const events: AgentEvent[] = [];
  const result = await runtime.run({
    runId: 'r1',
    input: { prompt: 'go' },
    limits: { prices: PRICES },
    signal: new AbortController().signal,
    emit: (event) => events.push(event),
    checkpoint: async () => {},
    ...options,
  });
  return { result, events };
}

const T = { timeout: 120_000 };

describe('claudeAgentRuntime', () => {
  it(
    'streams text deltas, one turn-started/turn-finished pair per model call, tool events, run-finished last',
    T,
    async () => {
      const upstream = await upstreamFor((n) =>
        n === 0
          ? { toolCalls: [{ name: 'echo', id: 'c1', input: { text: 'ping' } }] }
          : { chunks: ['the answer ', 'is ', 'pong'] },
      );
      const echo = defineTool({
        name: 'echo',
        description: 'Echoes',
        input: z.object({ text: z.string() }),
        execute: async ({ text }) => ({ echoed: text }),
      });
      const runtime = claudeAgentRuntime({
        model: MODEL,
        tools: [echo],
        upstream: { baseURL: upstream.url, apiKey: SECRET },
      });
      const { result, events } = await runOnce(runtime);
      expect(result.status).toBe('completed');
      expect(result.output).toBe('the answer is pong');
      const types = events.map((event) => event.type);
      expect(types[0]).toBe('run-started');
      expect(types.at(-1)).toBe('run-finished');
      expect(types.filter((t) => t === 'turn-started')).toHaveLength(2);
      expect(types.filter((t) => t === 'turn-finished')).toHaveLength(2);
      const text = events.flatMap((e) => (e.type === 'text-delta' ? [e.text] : [])).join('');
      expect(text).toBe('the answer is pong');
      expect(events.find((e) => e.type === 'tool-call-started')).toMatchObject({
        toolCallId: 'c1',
        toolName: 'echo',
        input: { text: 'ping' },
      });
      expect(events.find((e) => e.type === 'tool-call-finished')).toMatchObject({
        toolCallId: 'c1',
        output: '{"echoed":"ping"}',
      });
      // The transcript, from Claude Code's session: prompt, call, result, answer.
      expect(result.state.messages.map((m) => m.role)).toEqual([
        'user',
        'assistant',
        'tool',
        'assistant',
      ]);
      expect(result.state.runtime?.name).toBe('claude-agent-sdk');
    },
  );

  it(
    'a tool that throws odd values or hangs past its timeout (ignoring its signal) gives the model an error and the run goes on',
    T,
    async () => {
      const upstream = await upstreamFor((n) =>
        n === 0
          ? {
              toolCalls: [
                { name: 'odd', id: 'o1', input: {} },
                { name: 'stuck', id: 's1', input: {} },
              ],
            }
          : { text: 'recovered' },
      );
      const odd = defineTool({
        name: 'odd',
        description: 'Throws a number',
        input: z.object({}),
        execute: () => {
          throw 42;
        },
      });
      const stuck = defineTool({
        name: 'stuck',
        description: 'Never ends and ignores its signal',
        input: z.object({}),
        execute: () => new Promise(() => {}),
      });
      const runtime = claudeAgentRuntime({
        model: MODEL,
        tools: [odd, stuck],
        toolTimeoutMs: 300,
        upstream: { baseURL: upstream.url, apiKey: SECRET },
      });
      const { result, events } = await runOnce(runtime);
      expect(result.status).toBe('completed');
      expect(result.output).toBe('recovered');
      const failed = events.filter((e) => e.type === 'tool-call-failed');
      expect(failed.map((e) => e.type === 'tool-call-failed' && e.toolCallId).sort()).toEqual([
        'o1',
        's1',
      ]);
      const sent = JSON.stringify(upstream.requests[1]?.messages);
      expect(sent).toContain('Tool \\"odd\\" failed: rejected with number 42');
      expect(sent).toContain('Tool \\"stuck\\" timed out after 300 ms');
    },
  );

  it(
    'cancel while a tool hangs and ignores its signal: the run ends aborted, promptly',
    T,
    async () => {
      const upstream = await upstreamFor(() => ({
        toolCalls: [{ name: 'stuck', id: 's1', input: {} }],
      }));
      const stuck = defineTool({
        name: 'stuck',
        description: 'Never ends',
        input: z.object({}),
        execute: () => new Promise(() => {}),
      });
      const runtime = claudeAgentRuntime({
        model: MODEL,
        tools: [stuck],
        upstream: { baseURL: upstream.url, apiKey: SECRET },
      });
      const controller = new AbortController();
      const events: AgentEvent[] = [];
      const done = runOnce(runtime, {
        signal: controller.signal,
        emit: (event) => {
          events.push(event);
          if (event.type === 'tool-call-started')
            setTimeout(() => controller.abort(new Error('cancelled')), 50);
        },
      });
      const { result } = await done;
      expect(result.status).toBe('aborted');
      expect(upstream.requests).toHaveLength(1);
      expect(events.at(-1)).toMatchObject({ type: 'run-finished', status: 'aborted' });
    },
  );

  it('an upstream error ends the run failed, its message redacted', T, async () => {
    const upstream = await upstreamFor(() => ({
      error: {
        kind: 'invalid_request',
        message: `your key ${SECRET} is not allowed to use this model`,
      },
    }));
    const runtime = claudeAgentRuntime({
      model: MODEL,
      upstream: { baseURL: upstream.url, apiKey: SECRET },
    });
    const { result } = await runOnce(runtime);
    expect(result.status).toBe('failed');
    expect(result.error?.message).toContain('not allowed');
    expect(result.error?.message).not.toContain(SECRET);
    expect(JSON.stringify(result.state)).not.toContain(SECRET);
  });

  it('refuses bad input, naming what is wrong', T, async () => {
    expect(() => claudeAgentRuntime({ model: '' })).toThrow(InvalidOptionError);
    expect(() => claudeAgentRuntime({ model: '' })).toThrow(/model must be a non-empty string/);
    const runtime = claudeAgentRuntime({
      model: MODEL,
      upstream: { baseURL: 'http://127.0.0.1:1' },
    });
    const noPrompt = await runOnce(runtime, { input: {} });
    expect(noPrompt.result.status).toBe('failed');
    expect(noPrompt.result.error?.message).toMatch(/prompt is required/);
    const answers = await runOnce(runtime, { input: { answers: { x: 1 } } });
    expect(answers.result.error?.message).toMatch(/answers: .*never suspends/);
    const foreign: RunState = {
      schemaVersion: 1,
      runId: 'r0',
      status: 'completed',
      messages: [],
      turns: [],
      toolResults: [],
      suspensions: [],
      runtime: { name: 'langgraph', handle: { threadId: 't' } },
    };
    const other = await runOnce(runtime, { resumeFrom: { kind: 'session', state: foreign } });
    expect(other.result.error?.message).toMatch(/written by runtime "langgraph"/);
    const unpriced = claudeAgentRuntime({
      model: 'claude-unknown-1',
      upstream: { baseURL: 'http://127.0.0.1:1' },
    });
    const noPrice = await runOnce(unpriced, { limits: { maxCostUsd: 1 } });
    expect(noPrice.result.status).toBe('failed');
    expect(InvalidOptionError.isInstance(noPrice.result.error)).toBe(true);
    expect(noPrice.result.error?.message).toMatch(/no price is known for model "claude-unknown-1"/);
    const notZodObject = claudeAgentRuntime({
      model: MODEL,
      upstream: { baseURL: 'http://127.0.0.1:1' },
      tools: [defineTool({ name: 'bare', description: 'x', input: z.string(), execute: () => '' })],
    });
    const bare = await runOnce(notZodObject);
    expect(bare.result.status).toBe('failed');
    expect(bare.result.error?.message).toMatch(/tools: "bare" needs a zod object input/);
  });
});
