// The AI SDK runtime under a worker (runtimeTask on the memory queue): a worker that dies
// mid-run is replaced by another, which continues from the last step's checkpoint with the
// history intact and no checkpointed tool call or model call repeated; suspend and answers
// across dispatches of a session; a cancel from the dispatcher stops a streaming run.
import {
  createMemorySessionStore,
  defineTool,
  type ModelRequest,
  type RunState,
  runtimeTask,
  type SessionStore,
  type Worker,
} from 'loopwork';
import { scriptedLanguageModel, toolLoopAgentRuntime } from 'loopwork/ai-sdk';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  deferred,
  expectedTranscript,
  memorySetup,
  stepScript,
  stepTool,
} from '../../../orchestration/helpers';

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

describe('toolLoopAgentRuntime under a worker', () => {
  it.each([1, 2])(
    'a worker that dies after %i tool results is replaced: the run continues from its checkpoint, history intact, nothing repeated',
    async (k) => {
      const prompt = 'three steps';
      const setup = memorySetup();
      const executions = new Map<string, number>();
      const modelCalls: Record<string, number> = {};
      let first: Worker | undefined;
      const checkpoints = observedStore((key, state) => {
        if (key === 'r1' && first && toolResultsIn(state) >= k) {
          first.abandon();
          first = undefined;
        }
      }, setup.checkpoints);
      const runtimes = Object.fromEntries(
        await Promise.all(
          ['w1', 'w2'].map(async (workerId) => {
            const model = await scriptedLanguageModel({
              turns: (request: ModelRequest) => {
                modelCalls[workerId] = (modelCalls[workerId] ?? 0) + 1;
                return stepScript(3)(request);
              },
            });
            return [workerId, toolLoopAgentRuntime({ model, tools: [stepTool(executions)] })];
          }),
        ),
      );
      const task = runtimeTask({
        checkpoints,
        runtime: (_payload, { workerId }) => runtimes[workerId]!,
        limits: { prices: PRICES },
      });
      await setup.dispatcher.dispatch(task.task, { prompt }, { runId: 'r1' });
      first = setup.worker({ id: 'w1', handlers: [task.handler], leaseMs: 100 });
      expect(await first.runOnce()).toBe('interrupted');
      expect((await setup.runs.get('r1'))?.status).toBe('running');

      const second = setup.worker({ id: 'w2', handlers: [task.handler], leaseMs: 100 });
      expect(await second.runOnce({ waitMs: 2_000 })).toBe('completed');

      const final = (await setup.checkpoints.load('r1'))!.state;
      expect(final.status).toBe('completed');
      expect(final.runtime?.name).toBe('ai-sdk');
      expect(final.messages).toEqual(expectedTranscript(prompt, 3));
      expect(Object.fromEntries(executions)).toEqual({ 'r1:t1_0': 1, 'r1:t2_0': 1, 'r1:t3_0': 1 });
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

  it('a session: suspend leaves the run waiting_input, answers continue it, a follow-up sees it all', async () => {
    const setup = memorySetup();
    const approve = defineTool({
      name: 'approve',
      description: 'Asks a person to approve the deployment',
      input: z.object({ what: z.string() }),
      execute: ({ what }, { suspend }) => suspend({ question: `May I deploy ${what}?` }),
    });
    const model = await scriptedLanguageModel({
      turns: (request: ModelRequest) => {
        const last = request.messages.at(-1);
        if (last?.role === 'tool') return { text: `approved: ${last.content[0]?.output}` };
        if (last?.role === 'user' && request.messages.length > 1)
          return { text: `follow-up after ${request.messages.length} messages` };
        return { toolCalls: [{ id: 'ask_1', name: 'approve', input: { what: 'v2' } }] };
      },
    });
    const task = runtimeTask({
      type: 'deployer',
      checkpoints: setup.checkpoints,
      runtime: toolLoopAgentRuntime({ model, tools: [approve] }),
      limits: { prices: PRICES },
    });
    const worker = setup.worker({ handlers: [task.handler] });
    const send = async (runId: string, payload: object) => {
      await setup.dispatcher.dispatch(
        task.task,
        { ...payload, sessionId: 's1' },
        { runId, groupId: 's1' },
      );
      return worker.runOnce();
    };
    expect(await send('r1', { prompt: 'deploy v2' })).toBe('waiting_input');
    expect((await setup.checkpoints.load('session:s1'))?.state.suspensions).toEqual([
      { toolCallId: 'ask_1', toolName: 'approve', payload: { question: 'May I deploy v2?' } },
    ]);
    expect(await send('r2', { answers: { ask_1: 'yes' } })).toBe('completed');
    expect((await setup.runs.get('r2'))?.output).toBe('approved: yes');
    expect(await send('r3', { prompt: 'anything else?' })).toBe('completed');
    expect((await setup.runs.get('r3'))?.output).toBe('follow-up after 5 messages');
    const session = (await setup.checkpoints.load('session:s1'))?.state;
    expect(session?.turns).toHaveLength(3);
    expect(session?.messages.map((m) => m.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
      'user',
      'assistant',
    ]);
  });

  it('a cancel from the dispatcher stops a run that is streaming', async () => {
    const setup = memorySetup();
    const inside = deferred();
    const model = await scriptedLanguageModel({
      turns: (request: ModelRequest) => {
        inside.resolve();
        return { ...stepScript(50)(request), delayMs: 60_000 };
      },
    });
    const task = runtimeTask({
      checkpoints: setup.checkpoints,
      runtime: toolLoopAgentRuntime({ model, tools: [stepTool(new Map())] }),
      limits: { prices: PRICES },
    });
    const worker = setup.worker({ handlers: [task.handler], leaseMs: 90 });
    await setup.dispatcher.dispatch(task.task, { prompt: 'go' }, { runId: 'r1' });
    const outcome = worker.runOnce();
    await inside.promise;
    expect((await setup.dispatcher.cancel('r1', 'stop it')).outcome).toBe('requested');
    expect(await outcome).toBe('cancelled');
    expect(await setup.runs.get('r1')).toMatchObject({ status: 'cancelled' });
  });
});
