/**
 * A LangGraph agent run by loopwork workers: `langGraphRuntime` runs a prebuilt ReAct agent
 * (`@langchain/langgraph`) over loopwork tools, with hard budgets on its chat model, its LangGraph
 * checkpoints in loopwork's checkpoint store, its events in the run's event log, and an
 * `interrupt` (a tool's `suspend()`) as a run waiting for input that a dispatch with `answers`
 * resumes.
 *
 * Offline: the chat model is scripted. With a real one, pass e.g.
 * `new ChatAnthropic({ model: 'claude-sonnet-5-5' })` from `@langchain/anthropic` as `model`
 * (and its price in `limits.prices` if loopwork does not know it).
 * Run: `npx tsx examples/runtimes/langgraph.ts`
 */
import {
  createDispatcher,
  createMemoryEventLog,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
  createWorker,
  defineTool,
  type ModelRequest,
  runtimeTask,
} from 'loopwork';
import { langGraphRuntime, scriptedChatModel } from 'loopwork/langgraph';
import type { ScriptedTurn } from 'loopwork/testing';
import { z } from 'zod';

const askApproval = defineTool({
  name: 'ask_approval',
  description: 'Asks a person to approve an action; their answer is the result.',
  input: z.object({ question: z.string() }),
  execute: ({ question }, { suspend }) => suspend({ question }), // LangGraph interrupt
});
const deploy = defineTool({
  name: 'deploy',
  description: 'Deploys a version.',
  input: z.object({ version: z.string() }),
  execute: ({ version }, { idempotencyKey }) => `deployed ${version} (key ${idempotencyKey})`,
});

// The scripted model answers from the conversation it is sent, as a real model would.
function answer(request: ModelRequest): ScriptedTurn {
  const last = request.messages.at(-1);
  const result = last?.role === 'tool' ? last.content[0] : undefined;
  const usage = { inputTokens: 900, outputTokens: 40 };
  if (result?.toolName === 'ask_approval')
    return { toolCalls: [{ name: 'deploy', input: { version: 'v2' } }], usage };
  if (result?.toolName === 'deploy') return { chunks: ['Done: ', result.output], usage };
  return { toolCalls: [{ name: 'ask_approval', input: { question: 'Deploy v2?' } }], usage };
}

const queue = createMemoryQueue();
const runs = createMemoryRunStore();
const events = createMemoryEventLog();
const deployer = runtimeTask({
  type: 'deployer',
  checkpoints: createMemorySessionStore(),
  runtime: langGraphRuntime({
    model: await scriptedChatModel({ turns: answer, modelId: 'claude-sonnet-5-5' }),
    tools: [askApproval, deploy],
    system: 'You deploy releases, with a person’s approval.',
  }),
  limits: { maxCostUsd: 0.05, maxTurns: 10 }, // hard: checked before every model call
});
const dispatcher = createDispatcher({ queue, runs });
const worker = createWorker({ queue, runs, events, handlers: [deployer.handler] });

/** Dispatches one message of session "s-1", lets the worker run it, prints what happened. */
async function send(payload: { prompt?: string; answers?: Record<string, unknown> }) {
  const { runId } = await dispatcher.dispatch(
    deployer.task,
    { ...payload, sessionId: 's-1' },
    { groupId: 's-1' },
  );
  console.log(`\n> ${JSON.stringify(payload)}`);
  console.log(`  run ${runId}: ${await worker.runOnce()}`);
  let waitingOn: string | undefined;
  for (const { data } of await events.read(runId)) {
    const event = data as { type: string; [key: string]: any };
    if (event.type === 'turn-finished')
      console.log(
        `  turn ${event.turn}: ${event.usage.outputTokens} tokens out, $${event.costUsd}`,
      );
    if (event.type === 'tool-call-finished') console.log(`  ${event.toolName}: ${event.output}`);
    if (event.type === 'text-delta') console.log(`  says "${event.text}"`);
    if (event.type === 'suspended') {
      waitingOn = event.suspensions[0].toolCallId;
      console.log(`  waits: ${JSON.stringify(event.suspensions[0].payload)}`);
    }
  }
  const record = await runs.get(runId);
  console.log(`  status ${record?.status}, spent $${record?.costUsd?.toFixed(4)}`);
  return waitingOn;
}

const question = await send({ prompt: 'Ship v2 please.' });
if (!question) throw new Error('expected the run to wait for an approval');
await send({ answers: { [question]: 'yes, ship it' } });
await worker.stop();
