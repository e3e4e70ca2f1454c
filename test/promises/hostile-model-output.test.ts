// Promise 4 at the agent loop: what a model answers is untrusted input. A seeded fuzz plays model
// turns with hostile tool calls — empty, duplicate and reused ids, `__proto__` / `constructor`
// names and keys, inputs of every wrong shape, huge inputs, secrets — against real tools (a
// validated echo, a tool returning huge output, a tool that throws odd values). The invariant for
// every run: it ends with a status and no exception, each call the model made runs at most once
// under an id of its own and gets exactly one result, no result exceeds the limit, nothing is
// polluted, and no secret reaches events or results.
import {
  type AgentEvent,
  type AssistantMessage,
  defineTool,
  runAgent,
  type ToolMessage,
} from 'loopwork';
import { ScriptedModel, type ScriptedTurn } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { prng, shape } from '../helpers/fuzz';

const SEED = Number(process.env.LOOPWORK_FUZZ_SEED ?? 20_261_204);
const SECRET = 'sk-ant-api03-MODELFUZZSECRETKEY-0123456789abcdef';
const RUNS = 300;
const MAX_RESULT = 4_096;

const pick = <T>(random: () => number, values: readonly T[]): T =>
  values[Math.floor(random() * values.length)] as T;

const IDS = ['', '', 'call_0', 'call_0', '__proto__', 'constructor', 'toString', 'x'.repeat(300)];
const NAMES = ['echo', 'echo', 'dump', 'odd', 'missing', '__proto__', 'constructor', ''];

/** A random model turn: text, and 0–4 tool calls of hostile ids, names and inputs. */
function hostileTurn(random: () => number): ScriptedTurn {
  const calls = Array.from({ length: Math.floor(random() * 5) }, () => {
    const name = pick(random, NAMES);
    const input =
      random() < 0.4 ? { text: random() < 0.5 ? 'hi' : `key ${SECRET}` } : shape(random, SECRET);
    return { name, input, ...(random() < 0.85 ? { id: pick(random, IDS) } : {}) };
  });
  return calls.length > 0 ? { toolCalls: calls } : { text: `done ${random()}` };
}

describe('hostile model output and tool input', () => {
  it(`${RUNS} runs of random hostile turns: every call runs at most once and gets one result`, async () => {
    const random = prng(SEED);
    const executions = new Map<string, number>();
    const count = (key: string) => executions.set(key, (executions.get(key) ?? 0) + 1);
    const tools = [
      defineTool({
        name: 'echo',
        description: 'Echoes text',
        input: z.object({ text: z.string().max(1_000) }),
        execute: ({ text }, { idempotencyKey }) => {
          count(idempotencyKey);
          return `echo: ${text}`;
        },
      }),
      defineTool({
        name: 'dump',
        description: 'Returns far too much',
        input: z.object({}).passthrough(),
        execute: (_input, { idempotencyKey }) => {
          count(idempotencyKey);
          return 'y'.repeat(100_000);
        },
      }),
      defineTool({
        name: 'odd',
        description: 'Throws something odd',
        input: z.object({}).passthrough(),
        execute: (_input, { idempotencyKey }) => {
          count(idempotencyKey);
          throw pick(random, [Object.create(null), undefined, Symbol('s'), { SECRET }, 7]);
        },
      }),
    ];
    let calls = 0;
    let statuses = new Map<string, number>();
    for (let run = 0; run < RUNS; run++) {
      const turns = Array.from({ length: 1 + Math.floor(random() * 3) }, () => hostileTurn(random));
      calls += turns.reduce((sum, turn) => sum + (turn.toolCalls?.length ?? 0), 0);
      const events: AgentEvent[] = [];
      const runId = `fuzz-${run}`;
      const result = await runAgent({
        model: new ScriptedModel({ turns: [...turns, { text: 'end' }] }),
        prompt: 'go',
        runId,
        tools,
        maxToolResultBytes: MAX_RESULT,
        redact: { secrets: [SECRET] },
        onEvent: (event) => events.push(event),
      });
      statuses = statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
      expect(result.status, `run ${run}`).toBe('completed');

      const ids = new Set<string>();
      result.state.messages.forEach((message, index) => {
        if (message.role !== 'assistant') return;
        const next = result.state.messages[index + 1] as ToolMessage | undefined;
        for (const part of (message as AssistantMessage).content) {
          if (part.type !== 'tool-call') continue;
          expect(part.id, `run ${run}: an empty id`).not.toBe('');
          expect(ids.has(part.id), `run ${run}: id ${part.id} twice`).toBe(false);
          ids.add(part.id);
          const results = next?.content.filter((r) => r.toolCallId === part.id) ?? [];
          expect(results, `run ${run}: results of ${part.id}`).toHaveLength(1);
          expect(Buffer.byteLength(results[0]?.output ?? '')).toBeLessThan(MAX_RESULT + 300);
        }
      });
      for (const id of ids) expect(executions.get(`${runId}:${id}`) ?? 0).toBeLessThanOrEqual(1);
      expect(JSON.stringify(events)).not.toContain(SECRET);
    }
    expect([...executions.values()].every((n) => n === 1)).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.toString.call({})).toBe('[object Object]');
    console.log(
      `hostile model output: ${RUNS} runs, ${calls} tool calls, ${executions.size} executed, ` +
        `statuses ${JSON.stringify(Object.fromEntries(statuses))}, 0 lost results, 0 leaks`,
    );
  }, 60_000);
});
