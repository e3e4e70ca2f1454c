/**
 * Claude Code, through the Claude Agent SDK, run by loopwork workers: `claudeAgentRuntime` starts
 * the `claude` binary with `query()`, serves loopwork tools to it as an in-process MCP server, and
 * points it (`ANTHROPIC_BASE_URL`) at a loopback budget proxy that clamps every model call with
 * the run's budgets before it is made. The session (id and transcript) is checkpointed, so a
 * follow-up in the same loopwork session continues the Claude session, on any worker.
 *
 * Offline: the "Anthropic API" is `fakeAnthropicUpstream`, a loopback server answering from a
 * script in the API's wire format. With the real API, drop `upstream` (the proxy then forwards to
 * https://api.anthropic.com with ANTHROPIC_API_KEY, which Claude Code itself never sees).
 * Run: `npx tsx examples/runtimes/claude-agent-sdk.ts`
 */
import {
  createDispatcher,
  createMemoryEventLog,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
  createWorker,
  defineTool,
  runtimeTask,
} from 'loopwork';
import { claudeAgentRuntime, fakeAnthropicUpstream } from 'loopwork/claude-agent-sdk';
import { z } from 'zod';

const lookupOrder = defineTool({
  name: 'lookup_order',
  description: 'Finds an order by id.',
  input: z.object({ orderId: z.string() }),
  execute: ({ orderId }, { idempotencyKey }) =>
    JSON.stringify({ orderId, status: 'shipped', key: idempotencyKey }),
});

// The fake API answers by how many assistant turns the conversation already has.
const api = await fakeAnthropicUpstream({
  turn: (n) => {
    const usage = { inputTokens: 1_200, outputTokens: 60 };
    if (n === 0)
      return { toolCalls: [{ name: 'lookup_order', input: { orderId: 'A-17' } }], usage };
    if (n === 1) return { chunks: ['Order A-17 ', 'has shipped.'], usage };
    return { text: 'It left our warehouse yesterday.', usage };
  },
});

const queue = createMemoryQueue();
const runs = createMemoryRunStore();
const events = createMemoryEventLog();
const support = runtimeTask({
  type: 'support',
  checkpoints: createMemorySessionStore(),
  runtime: claudeAgentRuntime({
    model: 'claude-sonnet-5-5', // priced by loopwork's table
    systemPrompt: 'You answer questions about orders.',
    tools: [lookupOrder],
    upstream: { baseURL: api.url },
  }),
  limits: { maxCostUsd: 0.05, maxTurns: 10 }, // hard: the proxy checks them before every call
});
const dispatcher = createDispatcher({ queue, runs });
const worker = createWorker({ queue, runs, events, handlers: [support.handler] });

/** Dispatches one message of session "s-1", lets the worker run it, prints what happened. */
async function send(prompt: string) {
  const { runId } = await dispatcher.dispatch(
    support.task,
    { prompt, sessionId: 's-1' },
    { groupId: 's-1' },
  );
  console.log(`\n> ${prompt}`);
  console.log(`  run ${runId}: ${await worker.runOnce()}`);
  for (const { data } of await events.read(runId)) {
    const event = data as { type: string; [key: string]: any };
    if (event.type === 'turn-started')
      console.log(`  turn ${event.turn}: output capped at ${event.maxOutputTokens} tokens`);
    if (event.type === 'turn-finished')
      console.log(
        `  turn ${event.turn}: ${event.usage.outputTokens} tokens out, $${event.costUsd}`,
      );
    if (event.type === 'tool-call-finished') console.log(`  ${event.toolName}: ${event.output}`);
    if (event.type === 'text-delta') console.log(`  says "${event.text}"`);
  }
  const record = await runs.get(runId);
  console.log(`  status ${record?.status}, spent $${record?.costUsd?.toFixed(4)}`);
}

await send('Where is my order A-17?');
await send('When did it leave?'); // the same Claude session, resumed from its checkpoint
await worker.stop();
await api.close();
