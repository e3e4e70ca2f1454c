/**
 * Where `runAgent`'s per-turn time goes: runs the bench:loop workload (10 tool turns + a final
 * text on a zero-latency scripted model, no checkpoints) under the V8 CPU profiler (what
 * `node --cpu-prof` records) and prints self time by function and by file, loopwork's own code
 * first. Run with `npm run bench:loop-profile`; `--save <file>` also writes the .cpuprofile for
 * Chrome DevTools.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { relative } from 'node:path';
import { z } from 'zod';
import { defineTool, runAgent } from '../src/index';
import { ScriptedModel } from '../src/testing/index';

const RUNS = 4_000;
const TOOL_TURNS = 10;
const streaming = !process.argv.includes('--no-stream');
const saveAt = process.argv.indexOf('--save');

const lookup = defineTool({
  name: 'lookup',
  description: 'Looks up the value of a key',
  input: z.object({ key: z.string() }),
  execute: ({ key }) => `value of ${key}`,
});
const run = () =>
  runAgent({
    model: new ScriptedModel({
      streaming,
      turns: (_request, i) =>
        i < TOOL_TURNS
          ? { toolCalls: [{ name: 'lookup', input: { key: `k${i}` } }] }
          : { text: 'done' },
    }),
    prompt: 'Look up ten keys, then summarize.',
    tools: [lookup],
  });

for (let i = 0; i < 300; i++) await run(); // warm up: profile optimized code

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
await session.post('Profiler.start');
const start = performance.now();
for (let i = 0; i < RUNS; i++) await run();
const elapsed = performance.now() - start;
const { profile } = (await session.post('Profiler.stop')) as {
  profile: { nodes: ProfileNode[]; samples: number[] };
};
session.disconnect();
if (saveAt > 0)
  writeFileSync(process.argv[saveAt + 1] ?? 'loop.cpuprofile', JSON.stringify(profile));

const hits = new Map<number, number>();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const total = profile.samples.length;
const turns = RUNS * (TOOL_TURNS + 1);
const usPerTurn = (elapsed * 1000) / turns;

const where = (url: string) => {
  if (!url) return '(native/vm)';
  const path = url.replace(/^file:\/\//, '');
  const inside = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (inside) return `node_modules/${inside[1]}`;
  if (path.startsWith('node:')) return path;
  return relative(process.cwd(), path);
};
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const node of profile.nodes) {
  const count = hits.get(node.id) ?? 0;
  if (count === 0) continue;
  const file = where(node.callFrame.url);
  const name = `${node.callFrame.functionName || '(anonymous)'}  ${file}:${node.callFrame.lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + count);
  byFile.set(file, (byFile.get(file) ?? 0) + count);
}
const table = (title: string, entries: Map<string, number>, limit: number) => {
  console.log(`\n${title}`);
  console.log(`${'µs/turn'.padStart(8)} ${'share'.padStart(6)}  where`);
  for (const [name, count] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    const share = count / total;
    console.log(
      `${(share * usPerTurn).toFixed(2).padStart(8)} ${(share * 100).toFixed(1).padStart(5)}%  ${name}`,
    );
  }
};
console.log(
  `runAgent, ${streaming ? 'streaming' : 'generate'}: ${RUNS} runs × ${TOOL_TURNS + 1} model calls, ` +
    `${usPerTurn.toFixed(1)} µs/turn under the profiler (which slows it), ${total} samples`,
);
table('self time by file', byFile, 20);
table('self time by function', byFunction, 30);
