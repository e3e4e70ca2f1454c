/**
 * Crash and resume: a run stopped halfway continues from its last checkpoint, and tool calls that
 * already finished do not run again.
 *
 * Process 1 is "killed" inside its second tool call (simulated by aborting the run from inside
 * that tool; a real crash is the same minus the final `aborted` checkpoint). Process 2 makes the
 * very same `runAgent` call (same `runId`, checkpoint store and prompt): it finds the saved state
 * and carries on; the prompt is ignored, as the run already has it. Executions are counted by
 * `context.idempotencyKey` (run id + tool call id).
 * The model is scripted: no API key, no network.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemorySessionStore, defineTool, type ModelRequest, runAgent } from 'loopwork';
import { ScriptedModel, type ScriptedTurn } from 'loopwork/testing';
import { z } from 'zod';

const checkpoints = createMemorySessionStore(); // stands in for a shared database
const runId = 'order-1042';
const executions = new Map<string, string[]>(); // idempotency key -> tools that started with it
const process1 = new AbortController();
let crashDuringCharge = true;

const reserveStock = defineTool({
  name: 'reserve_stock',
  description: 'Reserves the items of an order.',
  input: z.object({ orderId: z.string() }),
  async execute({ orderId }, { idempotencyKey }) {
    executions.set(idempotencyKey, [...(executions.get(idempotencyKey) ?? []), 'reserve_stock']);
    return { orderId, reserved: true };
  },
});

const chargeCard = defineTool({
  name: 'charge_card',
  description: 'Charges the customer for an order.',
  input: z.object({ orderId: z.string(), cents: z.number().int() }),
  async execute({ orderId, cents }, { idempotencyKey, signal }) {
    executions.set(idempotencyKey, [...(executions.get(idempotencyKey) ?? []), 'charge_card']);
    if (crashDuringCharge) {
      crashDuringCharge = false;
      process1.abort(); // the process dies here, mid-call
    }
    await sleep(10, undefined, { signal }); // the payment API call; pass it idempotencyKey
    return { orderId, charged: cents };
  },
});

// The model answers from the conversation, so each "process" can create its own.
const answer = (request: ModelRequest): ScriptedTurn =>
  request.messages.at(-1)?.role === 'user'
    ? {
        toolCalls: [
          { name: 'reserve_stock', input: { orderId: '1042' } },
          { name: 'charge_card', input: { orderId: '1042', cents: 4999 } },
        ],
      }
    : { text: 'Order 1042 is reserved and paid.' };
const options = {
  runId,
  checkpoints,
  tools: [reserveStock, chargeCard],
  toolConcurrency: 1,
  prompt: 'Reserve and charge order 1042 ($49.99).',
};

const first = await runAgent({
  ...options,
  model: new ScriptedModel({ turns: answer }),
  signal: process1.signal,
});
const saved = await checkpoints.load(runId);
console.log(
  `process 1: ${first.status}; checkpoint has ${saved?.state.toolResults.length} of 2 tool results`,
);

// A restarted worker makes the same call: the checkpoint under runId is continued, not restarted.
const model2 = new ScriptedModel({ turns: answer });
const second = await runAgent({ ...options, model: model2 });
console.log(`process 2: ${second.status}: "${second.text}"`);
console.log(
  `  model calls: ${model2.requests.length} in process 2, ${second.turns.length} in the run`,
);
for (const [key, runs] of executions) {
  console.log(`  ${runs[0]} (key ${key}) executed ${runs.length}x`);
}
if (executions.get(`${runId}:call_1_0`)?.length !== 1) throw new Error('reserve_stock ran again');
console.log(
  'reserve_stock did not run again; the interrupted charge_card re-ran with the same key.',
);
