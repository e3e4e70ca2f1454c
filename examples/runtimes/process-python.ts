/**
 * An agent in another language run as a loopwork task: `processTask` starts
 * `examples/runtimes/python-agent.py` (standard library only) per task, in its own process group,
 * and speaks loopwork's NDJSON protocol with it — the agent asks leave before each model call
 * (hard budgets), asks loopwork to run the `add` tool, checkpoints its own state, and its events
 * land in the run's event log. Runs in CI when `python3` exists; if not, says so and exits 0.
 * Run: `npx tsx examples/runtimes/process-python.ts`
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  createDispatcher,
  createMemoryEventLog,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
  createWorker,
  defineTool,
} from 'loopwork';
import { processTask } from 'loopwork/process';
import { z } from 'zod';

if (spawnSync('python3', ['--version']).status !== 0) {
  console.log('python3 is not installed here: skipping the Python agent example.');
  process.exit(0);
}

const add = defineTool({
  name: 'add',
  description: 'Adds two integers.',
  input: z.object({ a: z.number().int(), b: z.number().int() }),
  execute: ({ a, b }) => String(a + b),
});

const queue = createMemoryQueue();
const runs = createMemoryRunStore();
const events = createMemoryEventLog();
const checkpoints = createMemorySessionStore();
const agent = processTask({
  type: 'python-agent',
  checkpoints,
  process: {
    command: 'python3',
    args: [fileURLToPath(new URL('./python-agent.py', import.meta.url))],
    tools: [add],
  },
  // The stand-in model's price, so that maxCostUsd can hold.
  limits: {
    maxCostUsd: 0.01,
    prices: { 'python-stand-in': { inputPerMTok: 3, outputPerMTok: 15 } },
  },
});
const dispatcher = createDispatcher({ queue, runs, events });
const worker = createWorker({ queue, runs, events, handlers: [agent.handler] });

await dispatcher.dispatch(agent.task, { prompt: 'Add 12, 30 and -5' }, { runId: 'py-1' });
console.log('outcome:', await worker.runOnce());
const record = await runs.get('py-1');
console.log('output:', record?.output, `| cost $${record?.costUsd?.toFixed(6)}`);
for (const event of await events.read('py-1')) {
  const data = event.data as { type: string; toolName?: string; output?: string; text?: string };
  if (
    data.type.startsWith('tool-call') ||
    data.type === 'text-delta' ||
    data.type === 'run-finished'
  )
    console.log(' ', data.type, data.toolName ?? '', data.output ?? data.text ?? '');
}
if (record?.output !== 'The sum is 37.') throw new Error(`unexpected output: ${record?.output}`);
await worker.stop();
await queue.close();
