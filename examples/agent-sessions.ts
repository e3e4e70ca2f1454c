/**
 * Multi-turn sessions on the agent task: one conversation over several dispatched runs, and a
 * tool that waits for a person.
 *
 * Every message of the conversation is its own dispatch (its own run) carrying the same
 * `sessionId`; the worker continues the session from its stored state. Dispatch them with
 * `groupId: sessionId`, so that the runs of one session run one at a time, in order. A tool that
 * calls `suspend()` ends its run `waiting_input`; a dispatch with `answers` continues the session.
 * The model is scripted (offline). Run: `npx tsx examples/agent-sessions.ts`
 */
import {
  agentTask,
  createDispatcher,
  createMemoryEventLog,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
  createWorker,
  defineTool,
  type ModelRequest,
  type ToolMessage,
} from 'loopwork';
import { ScriptedModel, type ScriptedTurn } from 'loopwork/testing';
import { z } from 'zod';

const askApproval = defineTool({
  name: 'ask_approval',
  description: 'Asks a person to approve an action; their answer is the result.',
  input: z.object({ question: z.string() }),
  execute: ({ question }, { suspend }) => suspend({ question }), // the run waits for answers
});
const deploy = defineTool({
  name: 'deploy',
  description: 'Deploys a version.',
  input: z.object({ version: z.string() }),
  execute: ({ version }) => `deployed ${version} to staging`,
});

// The scripted model answers from the conversation it is sent, as a real model would.
function answer(request: ModelRequest): ScriptedTurn {
  const last = request.messages.at(-1);
  const result = last?.role === 'tool' ? (last as ToolMessage).content[0] : undefined;
  if (result?.toolName === 'ask_approval')
    return { toolCalls: [{ name: 'deploy', input: { version: 'v2' } }] };
  if (result?.toolName === 'deploy') return { text: `Done: ${result.output}.` };
  if (request.messages.length === 1)
    return { toolCalls: [{ name: 'ask_approval', input: { question: 'Deploy v2 to staging?' } }] };
  return { text: `This session has ${request.messages.length} messages; v2 is on staging.` };
}

const queue = createMemoryQueue();
const runs = createMemoryRunStore();
const events = createMemoryEventLog();
const assistant = agentTask({
  type: 'release-assistant',
  checkpoints: createMemorySessionStore(), // runs under their run id, sessions under session:<id>
  agent: { model: new ScriptedModel({ turns: answer }), tools: [askApproval, deploy] },
});
const dispatcher = createDispatcher({ queue, runs });
const worker = createWorker({ queue, runs, events, handlers: [assistant.handler] });

/** Dispatches one message of session "s-42", lets the worker run it, prints what happened. */
async function send(payload: { prompt?: string; answers?: Record<string, unknown> }) {
  const { runId } = await dispatcher.dispatch(
    assistant.task,
    { ...payload, sessionId: 's-42' },
    { groupId: 's-42' },
  );
  console.log(`\n> ${JSON.stringify(payload)}`);
  await worker.runOnce();
  let toolCallId: string | undefined;
  for (const { data } of await events.read(runId)) {
    const event = data as { type: string; [key: string]: any };
    if (event.type === 'tool-call-started') console.log(`  tool ${event.toolName}`);
    if (event.type === 'text-delta') console.log(`  says "${event.text}"`);
    if (event.type === 'suspended') {
      toolCallId = event.suspensions[0].toolCallId;
      console.log(`  waits: ${JSON.stringify(event.suspensions[0].payload)} (${toolCallId})`);
    }
  }
  console.log(`  run ${(await runs.get(runId))?.status}`);
  return toolCallId;
}

const waitingOn = await send({ prompt: 'Please deploy v2 to staging.' });
await send({ answers: { [waitingOn!]: 'Approved, go ahead.' } }); // the person's answer
await send({ prompt: 'What did you do?' }); // a follow-up: the model sees the whole session
