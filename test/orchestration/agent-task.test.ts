import {
  type AgentEvent,
  agentTask,
  compareEventIds,
  createMemorySessionStore,
  defineTool,
  InvalidPayloadError,
  type ModelRequest,
  type RunState,
  runAgent,
  type SessionStore,
  type Worker,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  expectedTranscript,
  memorySetup,
  rejectionOf,
  stepScript,
  stepTool,
  typesOf,
} from './helpers';

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

/** Tool results recorded in a state: in tool messages, and still pending in `toolResults`. */
const toolResultsIn = (state: RunState) =>
  state.messages.reduce((n, m) => n + (m.role === 'tool' ? m.content.length : 0), 0) +
  state.toolResults.length;

const withoutDurations = (data: unknown) => {
  const { durationMs: _ignored, ...rest } = data as Record<string, unknown>;
  return rest;
};

describe('agentTask', () => {
  it('runs runAgent with checkpoints; its events land in the run event log in order, ending with task-finished', async () => {
    const setup = memorySetup();
    const executions = new Map<string, number>();
    const settings = () => ({
      model: new ScriptedModel({ turns: stepScript(2, 'finished', 2) }),
      tools: [stepTool(executions)],
    });
    const agent = agentTask({ type: 'assistant', checkpoints: setup.checkpoints, agent: settings });
    expect(agent.task).toMatchObject({ type: 'assistant', queue: 'loopwork:tasks:assistant' });
    const worker = setup.worker({ handlers: [agent.handler] });
    await setup.dispatcher.dispatch(agent.task, { prompt: 'two steps' }, { runId: 'r1' });
    expect(await worker.runOnce()).toBe('completed');

    // The same agent run directly: the event log must hold exactly its events, then task-finished.
    const direct: AgentEvent[] = [];
    await runAgent({
      ...settings(),
      prompt: 'two steps',
      runId: 'r1',
      onEvent: (e) => direct.push(e),
    });
    const logged = await setup.events.read('r1');
    // The log may join a tool call's input deltas that queued up while an append was in flight.
    expect(joinInputDeltas(logged.map((e) => withoutDurations(e.data)))).toEqual([
      ...joinInputDeltas(direct.map(withoutDurations)),
      { type: 'task-finished', runId: 'r1', status: 'completed', attempt: 1 },
    ]);
    expect(typesOf(logged).slice(0, 4)).toEqual([
      'run-started',
      'turn-started',
      'tool-input-started',
      'tool-input-delta',
    ]);
    for (let i = 1; i < logged.length; i++)
      expect(compareEventIds(logged[i - 1]!.id, logged[i]!.id)).toBeLessThan(0);

    const stored = await setup.checkpoints.load('r1');
    expect(stored?.state).toMatchObject({ runId: 'r1', status: 'completed' });
    expect(stored?.state.messages).toEqual(expectedTranscript('two steps', 2, 'finished', 2));
    // Checkpointed after every step: at least once per model call (3) and per tool result (4).
    expect(stored?.version).toBeGreaterThanOrEqual(3 + 4);
    // The result is on the record: the final text, usage and cost of the whole run.
    const run = await setup.runs.get('r1');
    expect(run).toMatchObject({ status: 'completed', taskType: 'assistant', output: 'finished' });
    expect(run?.usage).toEqual(
      stored?.state.turns.reduce(
        (sum, turn) => ({
          inputTokens: sum.inputTokens + turn.usage.inputTokens,
          outputTokens: sum.outputTokens + turn.usage.outputTokens,
          cacheReadTokens: sum.cacheReadTokens + turn.usage.cacheReadTokens,
          cacheWriteTokens: sum.cacheWriteTokens + turn.usage.cacheWriteTokens,
          reasoningTokens: sum.reasoningTokens + turn.usage.reasoningTokens,
        }),
        {
          inputTokens: 0,
          outputTokens: 0,
          cacheReadTokens: 0,
          cacheWriteTokens: 0,
          reasoningTokens: 0,
        },
      ),
    );
    expect(run?.usage?.outputTokens).toBeGreaterThan(0);
    expect(typeof run?.costUsd).toBe('number');
    expect(run?.startedAt).toBeGreaterThanOrEqual(run!.queuedAt);
    expect(run?.finishedAt).toBeGreaterThanOrEqual(run!.startedAt!);
  });

  it('refuses a payload with neither prompt nor answers, naming the field', async () => {
    const setup = memorySetup();
    const agent = agentTask({
      checkpoints: setup.checkpoints,
      agent: { model: new ScriptedModel({ turns: [] }) },
    });
    const error = await rejectionOf(() =>
      setup.dispatcher.dispatch(agent.task, { sessionId: 's1' }),
    );
    expect(InvalidPayloadError.isInstance(error)).toBe(true);
    expect(error.message).toBe(
      'payload of task "agent" is invalid: prompt: either prompt or answers is required',
    );
  });

  it.each([1, 2])(
    'a redelivered task resumes from its last completed step (worker abandoned after %i tool calls)',
    async (k) => {
      const prompt = 'three steps';
      const reference = await (async () => {
        const setup = memorySetup();
        const agent = agentTask({
          checkpoints: setup.checkpoints,
          agent: {
            model: new ScriptedModel({ turns: stepScript(3) }),
            tools: [stepTool(new Map())],
          },
        });
        await setup.dispatcher.dispatch(agent.task, { prompt }, { runId: 'r1' });
        expect(await setup.worker({ handlers: [agent.handler] }).runOnce()).toBe('completed');
        return (await setup.checkpoints.load('r1'))!.state;
      })();

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
      const agent = agentTask({
        checkpoints,
        agent: (_payload, { workerId }) => ({
          model: new ScriptedModel({
            turns: (request: ModelRequest) => {
              modelCalls[workerId] = (modelCalls[workerId] ?? 0) + 1;
              return stepScript(3)(request);
            },
          }),
          tools: [stepTool(executions)],
        }),
      });
      await setup.dispatcher.dispatch(agent.task, { prompt }, { runId: 'r1' });
      first = setup.worker({ id: 'w1', handlers: [agent.handler], leaseMs: 100 });
      expect(await first.runOnce()).toBe('interrupted');
      expect(setup.of('ack')).toEqual([]);
      expect((await setup.runs.get('r1'))?.status).toBe('running');

      const second = setup.worker({ id: 'w2', handlers: [agent.handler], leaseMs: 100 });
      expect(await second.runOnce({ waitMs: 2_000 })).toBe('completed');

      const final = (await setup.checkpoints.load('r1'))!.state;
      expect(final.status).toBe('completed');
      expect(final.messages).toEqual(reference.messages);
      expect(final.messages).toEqual(expectedTranscript(prompt, 3));
      expect(Object.fromEntries(executions)).toEqual({ 'r1:t1_0': 1, 'r1:t2_0': 1, 'r1:t3_0': 1 });
      // Model calls were not repeated either: w1 made k of them, w2 the rest.
      expect(modelCalls).toEqual({ w1: k, w2: 4 - k });
      const events = (await setup.events.read('r1')).map((e) => e.data as { type: string });
      expect(
        events
          .filter((e) => e.type === 'run-started')
          .map((e) => (e as { resumed?: boolean }).resumed),
      ).toEqual([false, true]);
      expect(events.filter((e) => e.type === 'task-finished')).toHaveLength(1);
      // w2 took the run over from w1, whose lease ran out: attempt 2.
      expect(events.at(-1)).toEqual({
        type: 'task-finished',
        runId: 'r1',
        status: 'completed',
        attempt: 2,
      });
      expect(await setup.runs.get('r1')).toMatchObject({
        status: 'completed',
        attempt: 2,
        workerId: 'w2',
      });
    },
  );

  it('continues a session: a follow-up dispatch with the same sessionId sees the earlier messages', async () => {
    const setup = memorySetup();
    const requests: ModelRequest[] = [];
    const model = new ScriptedModel({
      turns: (request) => {
        requests.push(request);
        const users = request.messages.filter((m) => m.role === 'user');
        return { text: `reply to "${users.at(-1)?.content}" (${users.length} user messages)` };
      },
    });
    const agent = agentTask({ checkpoints: setup.checkpoints, agent: { model } });
    // Both dispatched up front; the group makes the follow-up wait for the first run.
    await setup.dispatcher.dispatch(
      agent.task,
      { prompt: 'my name is Ada', sessionId: 's1' },
      { runId: 'r1', groupId: 's1' },
    );
    await setup.dispatcher.dispatch(
      agent.task,
      { prompt: 'what is my name?', sessionId: 's1' },
      { runId: 'r2', groupId: 's1' },
    );
    const worker = setup.worker({ handlers: [agent.handler], concurrency: 2 });
    expect(await worker.runOnce()).toBe('completed');
    expect(await worker.runOnce()).toBe('completed');

    expect(requests).toHaveLength(2);
    expect(requests[1]?.messages).toEqual([
      { role: 'user', content: 'my name is Ada' },
      {
        role: 'assistant',
        content: [{ type: 'text', text: 'reply to "my name is Ada" (1 user messages)' }],
      },
      { role: 'user', content: 'what is my name?' },
    ]);
    const session = await setup.checkpoints.load('session:s1');
    expect(session?.state.runId).toBe('r2');
    expect(session?.state.messages).toHaveLength(4);
    expect(session?.state.turns).toHaveLength(2);
    // Each run also keeps its own checkpoint.
    expect((await setup.checkpoints.load('r1'))?.state.messages).toHaveLength(2);
    expect(await setup.runs.get('r2')).toMatchObject({ status: 'completed', groupId: 's1' });
  });

  it('a suspended tool leaves the run waiting_input; a dispatch with the answers continues the session to completion', async () => {
    const setup = memorySetup();
    const executions = new Map<string, number>();
    const approve = defineTool({
      name: 'approve',
      description: 'Asks a person to approve the deployment',
      input: z.object({ what: z.string() }),
      execute: ({ what }, { suspend, idempotencyKey }) => {
        executions.set(idempotencyKey, (executions.get(idempotencyKey) ?? 0) + 1);
        suspend({ question: `May I deploy ${what}?` });
      },
    });
    const model = new ScriptedModel({
      turns: (request) => {
        const last = request.messages.at(-1);
        if (last?.role === 'tool') return { text: `approval said: ${last.content[0]?.output}` };
        return { toolCalls: [{ id: 'ask_1', name: 'approve', input: { what: 'v2' } }] };
      },
    });
    const agent = agentTask({ checkpoints: setup.checkpoints, agent: { model, tools: [approve] } });
    const worker = setup.worker({ handlers: [agent.handler] });

    await setup.dispatcher.dispatch(
      agent.task,
      { prompt: 'deploy v2', sessionId: 's2' },
      { runId: 'r1', groupId: 's2' },
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
    expect(events.at(-1)).toEqual({
      type: 'task-finished',
      runId: 'r1',
      status: 'waiting_input',
      attempt: 1,
    });

    await setup.dispatcher.dispatch(
      agent.task,
      { answers: { ask_1: 'yes, go ahead' }, sessionId: 's2' },
      { runId: 'r2', groupId: 's2' },
    );
    expect(await worker.runOnce()).toBe('completed');
    const session = (await setup.checkpoints.load('session:s2'))!.state;
    expect(session.suspensions).toEqual([]);
    expect(session.messages.slice(-2)).toEqual([
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'ask_1',
            toolName: 'approve',
            output: 'yes, go ahead',
            isError: false,
          },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'approval said: yes, go ahead' }] },
    ]);
    expect((await setup.runs.get('r2'))?.status).toBe('completed');
    // The answer replaced the suspended call: the tool did not run again.
    expect([...executions.values()]).toEqual([1]);
  });

  it('a run whose model keeps failing (retryably) is retried, then failed with the model error as reason', async () => {
    const setup = memorySetup();
    let calls = 0;
    const model = new ScriptedModel({
      turns: () => {
        calls++;
        return { error: { kind: 'server', message: 'upstream is down' } };
      },
    });
    const agent = agentTask({
      checkpoints: setup.checkpoints,
      maxAttempts: 2,
      retryBackoff: { minDelayMs: 0, maxDelayMs: 0 },
      // The loop gives up at once, so the task-level retry is what is tested.
      agent: { model, retry: { maxRetries: 0 } },
    });
    const worker = setup.worker({ handlers: [agent.handler] });
    await setup.dispatcher.dispatch(agent.task, { prompt: 'hi' }, { runId: 'r1' });
    expect(await worker.runOnce()).toBe('retrying');
    expect(await worker.runOnce({ waitMs: 1_000 })).toBe('failed');
    expect(calls).toBe(2);
    expect(await setup.runs.get('r1')).toMatchObject({
      status: 'failed',
      attempt: 2,
      error: { code: 'model_error', message: 'ModelError: upstream is down' },
    });
  });
});

/** Consecutive `tool-input-delta`s of one tool call as one, as the event log may store them. */
function joinInputDeltas(events: unknown[]): unknown[] {
  const joined: Array<Record<string, unknown>> = [];
  for (const event of events as Array<Record<string, unknown>>) {
    const last = joined.at(-1);
    if (
      event.type === 'tool-input-delta' &&
      last?.type === 'tool-input-delta' &&
      last.toolCallId === event.toolCallId
    ) {
      joined[joined.length - 1] = {
        ...last,
        inputTextDelta: String(last.inputTextDelta) + String(event.inputTextDelta),
      };
    } else {
      joined.push(event);
    }
  }
  return joined;
}
