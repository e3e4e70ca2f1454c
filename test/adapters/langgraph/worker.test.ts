// The LangGraph runtime under a worker (runtimeTask): an interrupt leaves the run waiting_input
// and a dispatch with answers resumes it with Command({ resume }); a worker that dies mid-run is
// replaced by another, which continues the graph from its checkpoint with the history intact and
// no checkpointed tool call repeated.
import {
  createMemorySessionStore,
  defineTool,
  type ModelRequest,
  type RunState,
  runtimeTask,
  type SessionStore,
  type Worker,
} from 'loopwork';
import { langGraphRuntime, scriptedChatModel } from 'loopwork/langgraph';
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

/** Tool results saved in a LangGraph run's thread: in pending writes or in the transcript. */
const stepResultsIn = (state: RunState) => {
  const handle = state.runtime?.handle as { writes?: Array<{ value: unknown }> } | undefined;
  const pending = (handle?.writes ?? []).filter((w) =>
    JSON.stringify(w.value).includes('"ToolMessage"'),
  ).length;
  const done = state.messages.reduce((n, m) => n + (m.role === 'tool' ? m.content.length : 0), 0);
  return Math.max(pending, done);
};

describe('langGraphRuntime under a worker', () => {
  it('an interrupt leaves the run waiting_input; answers continue it with Command({ resume })', async () => {
    const setup = memorySetup();
    const executions = new Map<string, number>();
    const approve = defineTool({
      name: 'approve',
      description: 'Asks a person to approve the deployment',
      input: z.object({ what: z.string() }),
      execute: ({ what }, { suspend }) => suspend({ question: `May I deploy ${what}?` }),
    });
    const model = await scriptedChatModel({
      turns: (request: ModelRequest) => {
        const last = request.messages.at(-1);
        if (last?.role === 'tool')
          return {
            text: `results: ${last.content.map((r) => `${r.toolName}=${r.output}`).join(', ')}`,
          };
        return {
          toolCalls: [
            { id: 'ask_1', name: 'approve', input: { what: 'v2' } },
            { id: 'step_1', name: 'step', input: { n: 1 } },
          ],
        };
      },
    });
    const task = runtimeTask({
      type: 'deployer',
      checkpoints: setup.checkpoints,
      runtime: langGraphRuntime({ model, tools: [approve, stepTool(executions)] }),
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
        { toolCallId: 'ask_1', toolName: 'approve', payload: { question: 'May I deploy v2?' } },
      ],
    });
    const session = (await setup.checkpoints.load('session:s1'))?.state;
    expect(session?.status).toBe('suspended');
    expect(session?.suspensions.map((s) => s.toolCallId)).toEqual(['ask_1']);

    await setup.dispatcher.dispatch(
      task.task,
      { answers: { ask_1: 'yes, go ahead' }, sessionId: 's1' },
      { runId: 'r2', groupId: 's1' },
    );
    expect(await worker.runOnce()).toBe('completed');
    const record = await setup.runs.get('r2');
    expect(record?.status).toBe('completed');
    expect(record?.output).toBe('results: approve=yes, go ahead, step=step 1 done');
    // The step finished in r1 (its write was saved): it did not run again in r2.
    expect(Object.fromEntries(executions)).toEqual({ 'r1:step_1': 1 });
    const final = (await setup.checkpoints.load('session:s1'))?.state;
    expect(final?.suspensions).toEqual([]);
    expect(final?.messages.at(-1)).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'results: approve=yes, go ahead, step=step 1 done' }],
    });
    // Both runs' turns are on the session: budgets count the whole conversation.
    expect(final?.turns).toHaveLength(2);
  });

  it('answers for a call that is not suspended fail the run, naming the calls that are', async () => {
    const setup = memorySetup();
    const approve = defineTool({
      name: 'approve',
      description: 'Asks a person',
      input: z.object({}),
      execute: (_input, { suspend }) => suspend('ok?'),
    });
    const model = await scriptedChatModel({
      turns: [{ toolCalls: [{ id: 'ask_1', name: 'approve', input: {} }] }],
    });
    const task = runtimeTask({
      checkpoints: setup.checkpoints,
      runtime: langGraphRuntime({ model, tools: [approve] }),
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
      { answers: { nope: 1 }, sessionId: 's' },
      { runId: 'r2', groupId: 's' },
    );
    await worker.runOnce();
    const record = await setup.runs.get('r2');
    expect(record?.status).toBe('failed');
    expect(record?.error?.message).toContain(
      '[loopwork:langgraph] answers: no suspended tool call "nope" (waiting: ask_1)',
    );
  });

  it.each([1, 2])(
    'a worker that dies after %i tool results is replaced: the run continues from its checkpoint, history intact, no tool call repeated',
    async (k) => {
      const prompt = 'three steps';
      const setup = memorySetup();
      const executions = new Map<string, number>();
      const modelCalls: Record<string, number> = {};
      let first: Worker | undefined;
      // Abandon the first worker right after the checkpoint that holds k tool results.
      const checkpoints = observedStore((key, state) => {
        if (key === 'r1' && first && stepResultsIn(state) >= k) {
          first.abandon();
          first = undefined;
        }
      }, setup.checkpoints);
      // One scripted model per worker, counting the calls each worker made.
      const runtimes = Object.fromEntries(
        await Promise.all(
          ['w1', 'w2'].map(async (workerId) => {
            const model = await scriptedChatModel({
              turns: (request: ModelRequest) => {
                modelCalls[workerId] = (modelCalls[workerId] ?? 0) + 1;
                return stepScript(3)(request);
              },
            });
            return [workerId, langGraphRuntime({ model, tools: [stepTool(executions)] })];
          }),
        ),
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
      expect(final.runtime?.name).toBe('langgraph');
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
