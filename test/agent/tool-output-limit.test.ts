// maxToolResultBytes (issue 10): a tool's huge output is cut with a marker the model reads, the
// full text kept in the blob store when one is set; and a tool that throws something odd still
// gives the model an error result it can act on.
import {
  AGENT_DEFAULTS,
  type BlobStore,
  createMemoryBlobStore,
  defineTool,
  InvalidOptionError,
  runAgent,
  type ToolMessage,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { eventLog } from './helpers';

const big = (output: () => unknown) =>
  defineTool({
    name: 'dump',
    description: 'Returns a lot',
    input: z.object({}),
    execute: output,
  });

const oneCall = () =>
  new ScriptedModel({
    turns: [{ toolCalls: [{ name: 'dump', input: {}, id: 'big' }] }, { text: 'done' }],
  });

/** The first tool result the model was sent (in its second request). */
const firstResult = (model: ScriptedModel) =>
  (model.requests[1]?.messages.at(-1) as ToolMessage | undefined)?.content[0];
const resultSent = (model: ScriptedModel) => firstResult(model)?.output ?? '';

describe('maxToolResultBytes', () => {
  it('cuts a 20 MB output to the default limit, with a marker, in the transcript and the events', async () => {
    const model = oneCall();
    const log = eventLog();
    const output = 'x'.repeat(20 * 1024 * 1024);
    const result = await runAgent({
      model,
      prompt: 'go',
      tools: [big(() => output)],
      onEvent: log.onEvent,
    });
    expect(result.status).toBe('completed');
    const sent = resultSent(model);
    expect(sent.startsWith('x'.repeat(AGENT_DEFAULTS.maxToolResultBytes))).toBe(true);
    expect(sent.length).toBeLessThan(AGENT_DEFAULTS.maxToolResultBytes + 300);
    expect(sent).toContain(
      `[loopwork: tool output truncated to the first ${AGENT_DEFAULTS.maxToolResultBytes} of ${output.length} bytes; the rest was not kept`,
    );
    expect(log.ofType('tool-call-finished')[0]?.output).toBe(sent);
    expect(JSON.stringify(result.state).length).toBeLessThan(2 * AGENT_DEFAULTS.maxToolResultBytes);
  });

  it('keeps the full output in the blob store and tells the model its key', async () => {
    const model = oneCall();
    const blobs = createMemoryBlobStore();
    const output = JSON.stringify({ rows: Array.from({ length: 5_000 }, (_, n) => ({ n })) });
    await runAgent({
      model,
      prompt: 'go',
      runId: 'run/1',
      tools: [big(() => output)],
      maxToolResultBytes: 1_000,
      blobs,
    });
    const key = 'runs/run%2F1/tool-results/big.txt';
    expect(resultSent(model)).toContain(`the full output is in the blob store under "${key}"`);
    expect(Buffer.from((await blobs.get(key)) ?? []).toString('utf8')).toBe(output);
  });

  it('never splits a character, and a failing blob store does not fail the call', async () => {
    const model = oneCall();
    const failing: BlobStore = {
      ...createMemoryBlobStore(),
      put: async () => {
        throw new Error('bucket unreachable');
      },
    };
    const result = await runAgent({
      model,
      prompt: 'go',
      tools: [big(() => 'é'.repeat(1_000))],
      maxToolResultBytes: 101,
      blobs: failing,
    });
    expect(result.status).toBe('completed');
    const sent = resultSent(model);
    expect(sent.startsWith(`${'é'.repeat(50)}\n`)).toBe(true);
    expect(sent).not.toContain('\uFFFD');
    expect(sent).toContain('could not be stored (bucket unreachable)');
  });

  it('rejects a limit that is not a positive integer, and a blobs that is not a store', async () => {
    const base = { model: oneCall(), prompt: 'go' };
    await expect(runAgent({ ...base, maxToolResultBytes: 0 })).rejects.toThrow(
      new InvalidOptionError('maxToolResultBytes must be a positive integer, got 0'),
    );
    await expect(runAgent({ ...base, blobs: {} as unknown as BlobStore })).rejects.toThrow(
      /^blobs must be a BlobStore/,
    );
  });
});

describe('a tool that throws something odd', () => {
  const hostile: Array<[string, () => unknown, RegExp]> = [
    ['a null-prototype object', () => Object.create(null), /rejected with \[object Object\]/],
    [
      'an Error whose message getter throws',
      () =>
        Object.defineProperty(new Error('x'), 'message', {
          get() {
            throw new Error('boom');
          },
        }),
      /its message could not be read/,
    ],
    ['undefined', () => undefined, /rejected with undefined/],
    ['a Symbol', () => Symbol('odd'), /rejected with symbol Symbol\(odd\)/],
  ];

  for (const [name, thrown, expected] of hostile) {
    it(`gives the model an error result for ${name}, and the run goes on`, async () => {
      const model = oneCall();
      const result = await runAgent({
        model,
        prompt: 'go',
        tools: [
          big(() => {
            throw thrown();
          }),
        ],
      });
      expect(result.status).toBe('completed');
      const part = firstResult(model);
      expect(part?.isError).toBe(true);
      expect(part?.output).toMatch(expected);
    });
  }
});
