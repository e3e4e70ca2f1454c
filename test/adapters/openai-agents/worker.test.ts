// The OpenAI Agents runtime under a worker (runtimeTask): a tool call that needs approval leaves
// the run waiting_input and a dispatch with answers approves or rejects it; a follow-up
// continues the session; a worker that dies mid-run is replaced by another, which continues the
// SDK run from the RunState string in its checkpoint, history intact, no checkpointed tool call
// repeated.
import {
  createMemorySessionStore,
  defineTool,
  type ModelRequest,
  type RunState,
  runtimeTask,
  type SessionStore,
  type Worker,
} from 'loopwork';
import { openAIAgentsRuntime, scriptedAgentsModel } from 'loopwork/openai-agents';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { expectedTranscript, memorySetup, stepScript, stepTool } from '../../orchestration/helpers';

const PRICES = { scripted: { inputPerMTok: 3, outputPerMTok: 15 } };

/** A session store that calls `afterSave` after each successful save. */
function observedStore(
  afterSave: (key: string, state: RunState) => void,
  inner: SessionStore = createMemorySessionStore(),
): SessionStore {
  return {
    specificationVersion: inner.specificationVersion,
    load: (key) => inner.load(key),
    async save(key, state, expectedVersion) {
      const version = await inner.save(key, state, expectedVersion);
      afterSave(key, state);
      return version;
    },
    delete: (key) => inner.delete(key),
  };
}

const toolResultsIn = (state: RunState) =>
  state.messages.reduce((n, m) => n + (m.role === 'tool' ? m.content.length : 0), 0);

/** Deploys (needs approval) and runs a step in one turn, then reports what it read. */
function deployScript(request: ModelRequest) {
  const last = request.messages.at(-1);
  if (last?.role === 'tool')
    return {
      text: `results: ${last.content.map((r) => `${r.toolName}=${r.output}`).join(', ')}`,
    };
  if (request.messages.length > 1) return { text: 'nothing more to deploy' };
  return {
    toolCalls: [
      { id: 'ask_1', name: 'deploy', input: { what: 'v2' } },
      { id: 'step_1', name: 'step', input: { n: 1 } },
    ],
  };
}

function deployer(executions: Map<string, number>) {
  const deploy = defineTool({
    name: 'deploy',
    description: 'Deploys a version',
    input: z.object({ what: z.string() }),
    execute: ({ what }, { idempotencyKey }) => {
      executions.set(idempotencyKey, (executions.get(idempotencyKey) ?? 0) + 1);
      return `deployed ${what}`;
    },
  });
  return openAIAgentsRuntime({
    model: scriptedAgentsModel({ turns: deployScript }),
    tools: [deploy, stepTool(executions)],
    needsApproval: ['deploy'],
  });
}

describe('openAIAgentsRuntime under a worker', () => {
  it('a call that needs approval leaves the run waiting_input; an approving answer runs it once, a follow-up continues', async () => {
    const setup = memorySetup();
    const executions = new Map<string, number>();
    const task = runtimeTask({
      type: 'deployer',
      checkpoints: setup.checkpoints,
      runtime: deployer(executions),
      limits: { prices: PRICES },
    });
    const worker = setup.worker({ handlers: [task.handler] });

    await setup.dispatcher.dispatch(
      task.task,
      { prompt: 'deploy v2', sessionId: 's1' },
      { runId: 'r1', groupId: 's1' },
    );
    expect(await worker.runOnce()).toBe('waiting_input');
    expect((await setup.runs.get('r1'))?.status).toBe('waiting_input');
    const events = (await setup.events.read('r1')).map((e) => e.data);
    expect(events).toContainEqual({
      type: 'suspended',
      runId: 'r1',
      suspensions: [
        {
          toolCallId: 'ask_1',
          toolName: 'deploy',
          payload: { kind: 'approval', input: { what: 'v2' } },
        },
      ],
    });
    const session = (await setup.checkpoints.load('session:s1'))?.state;
    expect(session?.status).toBe('suspended');
    expect(session?.runtime?.name).toBe('openai-agents');
    expect(typeof (session?.runtime?.handle as { state?: unknown } | undefined)?.state).toBe(
      'string',
    );
    // The call that needed no approval ran already; the deploy did not.
    expect(Object.fromEntries(executions)).toEqual({ 'r1:step_1': 1 });

    await setup.dispatcher.dispatch(
      task.task,
      { answers: { ask_1: true }, sessionId: 's1' },
      { runId: 'r2', groupId: 's1' },
    );
    expect(await worker.runOnce()).toBe('completed');
    const record = await setup.runs.get('r2');
    expect(record?.output).toBe('results: step=step 1 done, deploy=deployed v2');
    // The approved call ran once, in r2; the step was not repeated.
    expect(Object.fromEntries(executions)).toEqual({ 'r1:step_1': 1, 'r2:ask_1': 1 });
    // r2's events show the approved call start and finish.
    const r2Events = (await setup.events.read('r2')).map((e) => e.data as { type: string });
    expect(
      r2Events
        .filter((e) => e.type.startsWith('tool-call'))
        .map((e) => [e.type, (e as { toolCallId?: string }).toolCallId]),
    ).toEqual([
      ['tool-call-started', 'ask_1'],
      ['tool-call-finished', 'ask_1'],
    ]);
    const answered = (await setup.checkpoints.load('session:s1'))?.state;
    expect(answered?.suspensions).toEqual([]);
    expect(answered?.turns).toHaveLength(2);

    await setup.dispatcher.dispatch(
      task.task,
      { prompt: 'anything else?', sessionId: 's1' },
      { runId: 'r3', groupId: 's1' },
    );
    expect(await worker.runOnce()).toBe('completed');
    expect((await setup.runs.get('r3'))?.output).toBe('nothing more to deploy');
    const final = (await setup.checkpoints.load('session:s1'))?.state;
    expect(final?.messages.filter((m) => m.role === 'user')).toEqual([
      { role: 'user', content: 'deploy v2' },
      { role: 'user', content: 'anything else?' },
    ]);
    expect(final?.turns).toHaveLength(3);
  });

  it('a rejecting answer skips the call: the model reads the rejection, the event says denied', async () => {
    const setup = memorySetup();
    const executions = new Map<string, number>();
    const task = runtimeTask({
      checkpoints: setup.checkpoints,
      runtime: deployer(executions),
      limits: { prices: PRICES },
    });
    const worker = setup.worker({ handlers: [task.handler] });
    await setup.dispatcher.dispatch(
      task.task,
      { prompt: 'deploy v2', sessionId: 's' },
      { runId: 'r1', groupId: 's' },
    );
    expect(await worker.runOnce()).toBe('waiting_input');
    await setup.dispatcher.dispatch(
      task.task,
      { answers: { ask_1: { approve: false, message: 'not on a Friday' } }, sessionId: 's' },
      { runId: 'r2', groupId: 's' },
    );
    expect(await worker.runOnce()).toBe('completed');
    expect((await setup.runs.get('r2'))?.output).toBe(
      'results: step=step 1 done, deploy=not on a Friday',
    );
    expect(executions.has('r2:ask_1')).toBe(false);
    const events = (await setup.events.read('r2')).map((e) => e.data);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'tool-call-failed',
        toolCallId: 'ask_1',
        reason: 'denied',
        message: 'not on a Friday',
      }),
    );
  });

  it('answers for a call that is not waiting fail the run, naming the calls that are', async () => {
    const setup = memorySetup();
    const task = runtimeTask({
      checkpoints: setup.checkpoints,
      runtime: deployer(new Map()),
      limits: { prices: PRICES },
    });
    const worker = setup.worker({ handlers: [task.handler] });
    await setup.dispatcher.dispatch(
      task.task,
      { prompt: 'go', sessionId: 's' },
      { runId: 'r1', groupId: 's' },
    );
    expect(await worker.runOnce()).toBe('waiting_input');
    await setup.dispatcher.dispatch(
      task.task,
      { answers: { nope: true }, sessionId: 's' },
      { runId: 'r2', groupId: 's' },
    );
    await worker.runOnce();
    const record = await setup.runs.get('r2');
    expect(record?.status).toBe('failed');
    expect(record?.error?.message).toContain(
      '[loopwork:openai-agents] answers: no tool call "nope" is waiting for approval (waiting: ask_1)',
    );
    // A prompt while approvals are pending is refused too.
    await setup.dispatcher.dispatch(
      task.task,
      { prompt: 'hello?', sessionId: 's' },
      { runId: 'r3', groupId: 's' },
    );
    await worker.runOnce();
    expect((await setup.runs.get('r3'))?.error?.message).toContain(
      'the conversation is waiting for answers to ask_1',
    );
  });

  it.each([1, 2])(
    'a worker that dies after %i tool results is replaced: the run continues from its RunState, history intact, no tool call repeated',
    async (k) => {
      const prompt = 'three steps';
      const setup = memorySetup();
      const executions = new Map<string, number>();
      const modelCalls: Record<string, number> = {};
      let first: Worker | undefined;
      // Abandon the first worker right after the checkpoint that holds k tool results.
      const checkpoints = observedStore((key, state) => {
        if (key === 'r1' && first && toolResultsIn(state) >= k) {
          first.abandon();
          first = undefined;
        }
      }, setup.checkpoints);
      // One scripted model per worker, counting the calls each worker made.
      const runtimes = Object.fromEntries(
        ['w1', 'w2'].map((workerId) => {
          const model = scriptedAgentsModel({
            turns: (request: ModelRequest) => {
              modelCalls[workerId] = (modelCalls[workerId] ?? 0) + 1;
              return stepScript(3)(request);
            },
          });
          return [workerId, openAIAgentsRuntime({ model, tools: [stepTool(executions)] })];
        }),
      );
      const task = runtimeTask({
        checkpoints,
        runtime: (_payload, { workerId }) => runtimes[workerId]!,
      });
      await setup.dispatcher.dispatch(task.task, { prompt }, { runId: 'r1' });
      first = setup.worker({ id: 'w1', handlers: [task.handler], leaseMs: 100 });
      expect(await first.runOnce()).toBe('interrupted');
      expect((await setup.runs.get('r1'))?.status).toBe('running');

      const second = setup.worker({ id: 'w2', handlers: [task.handler], leaseMs: 100 });
      expect(await second.runOnce({ waitMs: 2_000 })).toBe('completed');

      const final = (await setup.checkpoints.load('r1'))!.state;
      expect(final.status).toBe('completed');
      expect(final.runtime?.name).toBe('openai-agents');
      expect(final.messages).toEqual(expectedTranscript(prompt, 3));
      expect(Object.fromEntries(executions)).toEqual({ 'r1:t1_0': 1, 'r1:t2_0': 1, 'r1:t3_0': 1 });
      // Model calls were not repeated either: w1 made k of them, w2 the rest.
      expect(modelCalls).toEqual({ w1: k, w2: 4 - k });
      expect(final.turns).toHaveLength(4);
      const events = (await setup.events.read('r1')).map((e) => e.data as { type: string });
      expect(
        events
          .filter((e) => e.type === 'run-started')
          .map((e) => (e as { resumed?: boolean }).resumed),
      ).toEqual([false, true]);
      expect(await setup.runs.get('r1')).toMatchObject({
        status: 'completed',
        attempt: 2,
        workerId: 'w2',
        output: 'all steps done',
      });
    },
  );
});
