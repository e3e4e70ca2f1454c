import {
  defineTool,
  type ModelRequest,
  type ModelResponse,
  runAgent,
  type ToolCallPart,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { eventLog, lastToolResults } from './helpers';

function transferTool() {
  const executed: Array<{ to: string; amount: number }> = [];
  const tool = defineTool({
    name: 'transfer',
    description: 'Moves money',
    input: z.object({ to: z.string(), amount: z.number().positive() }),
    execute: (input) => {
      executed.push(input);
      return `sent ${input.amount} to ${input.to}`;
    },
  });
  return { tool, executed };
}

const transferScript = () =>
  new ScriptedModel({
    turns: [
      { toolCalls: [{ name: 'transfer', input: { to: 'bob', amount: 500 }, id: 't1' }] },
      { text: 'done' },
    ],
  });

describe('beforeToolCall', () => {
  it('deny: the tool does not run and the model reads the message as a tool error', async () => {
    const { tool, executed } = transferTool();
    const model = transferScript();
    const log = eventLog();
    const seen: ToolCallPart[] = [];
    const result = await runAgent({
      model,
      prompt: 'pay bob',
      tools: [tool],
      onEvent: log.onEvent,
      runId: 'r',
      hooks: {
        beforeToolCall: ({ toolCall, runId, turn }) => {
          seen.push(toolCall);
          expect([runId, turn]).toEqual(['r', 1]);
          return { action: 'deny', message: 'transfers above 100 need approval' };
        },
      },
    });
    expect(executed).toEqual([]);
    expect(seen).toEqual([
      { type: 'tool-call', id: 't1', name: 'transfer', input: { to: 'bob', amount: 500 } },
    ]);
    expect(lastToolResults(model.requests[1]?.messages ?? [])).toEqual([
      {
        type: 'tool-result',
        toolCallId: 't1',
        toolName: 'transfer',
        output: 'Tool call "transfer" was denied: transfers above 100 need approval',
        isError: true,
      },
    ]);
    expect(log.ofType('tool-call-failed')).toMatchObject([{ reason: 'denied', toolCallId: 't1' }]);
    expect(result.status).toBe('completed');
  });

  it('rewrite: the tool runs with the new input', async () => {
    const { tool, executed } = transferTool();
    const model = transferScript();
    await runAgent({
      model,
      prompt: 'pay bob',
      tools: [tool],
      hooks: { beforeToolCall: () => ({ action: 'rewrite', input: { to: 'bob', amount: 100 } }) },
    });
    expect(executed).toEqual([{ to: 'bob', amount: 100 }]);
    expect(lastToolResults(model.requests[1]?.messages ?? [])[0]?.output).toBe('sent 100 to bob');
    // The transcript keeps what the model asked for.
    expect(model.requests[1]?.messages[1]).toMatchObject({
      content: [{ input: { to: 'bob', amount: 500 } }],
    });
  });

  it('rewrite: the new input is validated like the model’s own', async () => {
    const { tool, executed } = transferTool();
    const model = transferScript();
    const log = eventLog();
    await runAgent({
      model,
      prompt: 'pay bob',
      tools: [tool],
      onEvent: log.onEvent,
      hooks: { beforeToolCall: () => ({ action: 'rewrite', input: { to: 'bob', amount: -1 } }) },
    });
    expect(executed).toEqual([]);
    expect(log.ofType('tool-call-failed')[0]?.reason).toBe('invalid_input');
    expect(lastToolResults(model.requests[1]?.messages ?? [])[0]?.output).toMatch(
      /^Invalid input for tool "transfer": amount: /,
    );
  });

  it('allow, or no decision, runs the tool unchanged', async () => {
    for (const decision of [{ action: 'allow' as const }, undefined]) {
      const { tool, executed } = transferTool();
      await runAgent({
        model: transferScript(),
        prompt: 'pay',
        tools: [tool],
        hooks: { beforeToolCall: async () => decision },
      });
      expect(executed).toEqual([{ to: 'bob', amount: 500 }]);
    }
  });
});

describe('afterToolCall', () => {
  it('sees what the model will read and may replace it (for errors too)', async () => {
    const { tool } = transferTool();
    const model = new ScriptedModel({
      turns: [
        {
          toolCalls: [
            { name: 'transfer', input: { to: 'bob', amount: 5 }, id: 'ok' },
            { name: 'missing', input: {}, id: 'bad' },
          ],
        },
        { text: 'done' },
      ],
    });
    const log = eventLog();
    const seen: Array<[string, string, boolean]> = [];
    await runAgent({
      model,
      prompt: 'pay',
      tools: [tool],
      onEvent: log.onEvent,
      hooks: {
        afterToolCall: ({ toolCall, output, isError }) => {
          seen.push([toolCall.id, output, isError]);
          return { output: `[redacted ${toolCall.id}]` };
        },
      },
    });
    expect(seen.sort()).toEqual([
      ['bad', 'Unknown tool "missing". Available tools: transfer.', true],
      ['ok', 'sent 5 to bob', false],
    ]);
    expect(
      lastToolResults(model.requests[1]?.messages ?? []).map((r) => [r.output, r.isError]),
    ).toEqual([
      ['[redacted ok]', false],
      ['[redacted bad]', true],
    ]);
    // Events carry the replaced output as well: nothing unredacted leaks.
    expect(log.ofType('tool-call-finished').map((e) => e.output)).toEqual(['[redacted ok]']);
    expect(log.ofType('tool-call-failed').map((e) => e.message)).toEqual(['[redacted bad]']);
  });
});

describe('beforeModelCall and afterModelCall', () => {
  it('beforeModelCall may replace the request sent to the model', async () => {
    const model = new ScriptedModel({ turns: [{ text: 'Ahoy' }] });
    const seen: ModelRequest[] = [];
    await runAgent({
      model,
      prompt: 'hello',
      maxTokensPerCall: 1000,
      hooks: {
        beforeModelCall: ({ request, turn }) => {
          seen.push(request);
          expect(turn).toBe(1);
          return { ...request, system: 'Talk like a pirate.', stopSequences: ['ARR'] };
        },
      },
    });
    expect(seen[0]).not.toHaveProperty('system');
    expect(model.requests[0]).toEqual({
      system: 'Talk like a pirate.',
      messages: [{ role: 'user', content: 'hello' }],
      maxOutputTokens: 1000,
      stopSequences: ['ARR'],
    });
  });

  it('a hook cannot raise maxOutputTokens past the cap and budgets', async () => {
    const model = new ScriptedModel({ turns: [{ text: 'ok' }] });
    await runAgent({
      model,
      prompt: 'hello',
      maxTokensPerCall: 1000,
      maxOutputTokens: 700,
      hooks: { beforeModelCall: ({ request }) => ({ ...request, maxOutputTokens: 100_000 }) },
    });
    expect(model.requests[0]?.maxOutputTokens).toBe(700);
  });

  it('afterModelCall sees the clamped request and the response of every call', async () => {
    const model = new ScriptedModel({
      turns: [
        { toolCalls: [{ name: 'transfer', input: { to: 'a', amount: 1 } }] },
        { text: 'all done' },
      ],
    });
    const seen: Array<{ turn: number; request: ModelRequest; response: ModelResponse }> = [];
    const result = await runAgent({
      model,
      prompt: 'pay',
      tools: [transferTool().tool],
      maxOutputTokens: 5000,
      hooks: { afterModelCall: (context) => void seen.push(context) },
    });
    expect(seen.map((s) => s.turn)).toEqual([1, 2]);
    expect(seen.map((s) => s.request)).toEqual(model.requests);
    expect(seen[1]?.response.message).toEqual(result.messages.at(-1));
    expect(seen[1]?.response.usage).toEqual(result.turns[1]?.usage);
    expect(seen[0]?.response.stopReason).toBe('tool_use');
  });
});
