/**
 * An OpenAI Agents SDK agent run by loopwork workers: `openAIAgentsRuntime` runs an `Agent` of
 * `@openai/agents` with `Runner.run` (streamed), with hard budgets on every model call, the
 * SDK's `RunState` (as a string) in loopwork's checkpoint store, its events in the run's event
 * log, and a tool call that needs approval as a run waiting for input that a dispatch with
 * `answers` approves.
 *
 * Offline: the model is scripted (an SDK `Model`). With OpenAI, drop `model` and give the agent a
 * model name (`new Agent({ model: 'gpt-5.4-mini', … })`): the SDK's `OpenAIProvider` resolves it
 * with `OPENAI_API_KEY`, behind the same budget checks.
 * Run: `npx tsx examples/runtimes/openai-agents.ts`
 */
import { Agent } from '@openai/agents';
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
import { openAIAgentsRuntime, scriptedAgentsModel } from 'loopwork/openai-agents';
import type { ScriptedTurn } from 'loopwork/testing';
import { z } from 'zod';

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
  if (result) return { chunks: ['Done: ', result.output], usage };
  return { toolCalls: [{ name: 'deploy', input: { version: 'v2' } }], usage };
}

const queue = createMemoryQueue();
const runs = createMemoryRunStore();
const events = createMemoryEventLog();
const deployer = runtimeTask({
  type: 'deployer',
  checkpoints: createMemorySessionStore(),
  runtime: openAIAgentsRuntime({
    model: scriptedAgentsModel({ turns: answer, modelId: 'gpt-5.4-mini' }),
    createAgent: ({ tools }) =>
      new Agent({ name: 'deployer', instructions: 'You deploy releases.', tools }),
    tools: [deploy],
    needsApproval: ['deploy'], // a person approves each deploy
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
      console.log(`  waits for approval: ${JSON.stringify(event.suspensions[0])}`);
    }
  }
  const record = await runs.get(runId);
  console.log(`  status ${record?.status}, spent $${record?.costUsd?.toFixed(4)}`);
  return waitingOn;
}

const call = await send({ prompt: 'Ship v2 please.' });
if (!call) throw new Error('expected the run to wait for an approval');
await send({ answers: { [call]: true } }); // or false / { approve: false, message: 'not today' }
await worker.stop();
