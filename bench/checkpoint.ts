/**
 * What a checkpoint costs as a run grows: a 500-turn run (each turn one tool call returning 2 KB)
 * checkpointed on Redis after every step, by full-state writes (every save rewrites the whole
 * state, as loopwork 0.1 did) and by delta checkpoints (`createRedisSessionStore` now), side by
 * side in one process against a private redis-server. Prints µs per turn around turns 10, 100 and
 * 500 and the bytes Redis received, against the final state's size.
 * Run with `npm run bench:checkpoint`.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { createRedisSessionStore } from '../adapters/redis/index';
import { startRedisServer } from '../examples/redis/local-redis';
import {
  ConflictError,
  defineTool,
  parseRunState,
  type RunState,
  runAgent,
  type SessionStore,
} from '../src/index';
import { ScriptedModel } from '../src/testing/index';

const TURNS = 500;
const RESULT_BYTES = 2_048;
const ROUNDS = 3;
const WINDOWS = [10, 100, 500];

/** Full-state checkpoints: one hash per key, the whole state JSON on every save (the 0.1 store). */
function fullStateStore(client: Redis, prefix: string): SessionStore {
  const lua = `
local current = redis.call('HGET', KEYS[1], 'version')
if (current or '') ~= ARGV[1] then return {-1, current or ''} end
local version = (tonumber(current) or 0) + 1
redis.call('HSET', KEYS[1], 'version', version, 'state', ARGV[2])
return {version, ''}`;
  return {
    specificationVersion: 'loopwork.session-store.v1',
    async load(key) {
      const [version = null, json = null] = await client.hmget(
        `${prefix}:${key}`,
        'version',
        'state',
      );
      if (version === null || json === null) return undefined;
      return { state: parseRunState(JSON.parse(json)) as RunState, version: Number(version) };
    },
    async save(key, state, expected) {
      const [version, actual] = (await client.eval(
        lua,
        1,
        `${prefix}:${key}`,
        expected === null ? '' : String(expected),
        JSON.stringify(state),
      )) as [number, string];
      if (version < 0) throw new ConflictError(`conflict on ${key}`, expected, Number(actual));
      return version;
    },
    async delete(key) {
      await client.del(`${prefix}:${key}`);
    },
  };
}

const step = defineTool({
  name: 'step',
  description: 'Does step n and reports 2 KB',
  input: z.object({ n: z.number() }),
  execute: ({ n }) => `${n}:`.padEnd(RESULT_BYTES, 'r'),
});

async function netInputBytes(client: Redis): Promise<number> {
  const info = await client.info('stats');
  return Number(/total_net_input_bytes:(\d+)/.exec(info)?.[1]);
}

/** One 500-turn run; per-turn durations (µs) and the bytes Redis received. */
async function measure(client: Redis, checkpoints: SessionStore, runId: string) {
  const model = new ScriptedModel({
    turns: (request) => {
      const done = request.messages.filter((message) => message.role === 'assistant').length;
      const usage = { inputTokens: 1_000, outputTokens: 20 };
      return done < TURNS
        ? { toolCalls: [{ name: 'step', input: { n: done + 1 } }], usage }
        : { text: 'done', usage };
    },
  });
  const starts: number[] = [];
  const before = await netInputBytes(client);
  const result = await runAgent({
    model,
    prompt: 'Do 500 steps.',
    tools: [step],
    runId,
    checkpoints,
    maxTurns: TURNS + 1,
    onEvent: (event) => {
      if (event.type === 'turn-started') starts.push(performance.now());
    },
  });
  const bytes = (await netInputBytes(client)) - before;
  if (result.status !== 'completed' || result.turns.length !== TURNS + 1) {
    throw new Error(`run ${runId} ended ${result.status} after ${result.turns.length} turns`);
  }
  const loaded = await checkpoints.load(runId);
  if (JSON.stringify(loaded?.state) !== JSON.stringify(result.state)) {
    throw new Error(`run ${runId}: the loaded checkpoint differs from the final state`);
  }
  const perTurn = starts.slice(1).map((at, i) => (at - (starts[i] as number)) * 1_000);
  return { perTurn, bytes, finalBytes: Buffer.byteLength(JSON.stringify(result.state)) };
}

/** Median µs per turn over the ten turns ending at `turn`. */
function around(perTurn: number[], turn: number): number {
  const window = perTurn.slice(Math.max(0, turn - 10), turn).sort((a, b) => a - b);
  return window[Math.floor(window.length / 2)] ?? Number.NaN;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const server = await startRedisServer();
const client = server.client();
try {
  const contenders = {
    'full-state writes (0.1)': (round: number) => fullStateStore(client, `full${round}`),
    'delta checkpoints': (round: number) =>
      createRedisSessionStore({ client, prefix: `delta${round}` }),
  };
  const results = new Map<string, Array<Awaited<ReturnType<typeof measure>>>>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, create] of Object.entries(contenders)) {
      const runs = results.get(name) ?? [];
      runs.push(await measure(client, create(round), `run-${round}`));
      results.set(name, runs);
    }
  }
  console.log(
    `\n${TURNS} turns, one ${RESULT_BYTES}-byte tool result each, checkpointed after every step on a private redis-server; median of ${ROUNDS} rounds\n`,
  );
  const header = [
    'contender',
    ...WINDOWS.map((t) => `µs/turn @${t}`),
    `@${TURNS} ÷ @10`,
    'MB written',
    '÷ final state',
  ];
  const rows = [...results].map(([name, runs]) => {
    const at = WINDOWS.map((turn) => median(runs.map((run) => around(run.perTurn, turn))));
    const bytes = median(runs.map((run) => run.bytes));
    const final = runs[0]?.finalBytes ?? 1;
    return [
      name,
      ...at.map((value) => value.toFixed(0)),
      `${((at.at(-1) as number) / (at[0] as number)).toFixed(2)}×`,
      (bytes / 1e6).toFixed(1),
      `${(bytes / final).toFixed(2)}×`,
    ];
  });
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i]!.length)),
  );
  for (const row of [header, ...rows]) {
    console.log(
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join('  '),
    );
  }
  const [full, delta] = [...results.values()].map((runs) => median(runs.map((run) => run.bytes)));
  console.log(
    `\nbytes written: delta checkpoints ${((delta as number) / (full as number)).toFixed(3)}× full-state writes`,
  );
  console.log(`final state: ${(results.values().next().value?.[0]?.finalBytes ?? 0) / 1e6} MB`);
} finally {
  await server.stop();
}
