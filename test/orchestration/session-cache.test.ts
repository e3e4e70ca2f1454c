// The agent task keeps recent sessions in a bounded in-memory cache and falls back to the store
// whenever the store's version says another worker moved the session on.
import {
  agentTask,
  createMemorySessionStore,
  type ModelRequest,
  type SessionStore,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { memorySetup } from './helpers';

/** A store that counts full loads per key. */
function countingStore(inner: SessionStore = createMemorySessionStore()) {
  const loads = new Map<string, number>();
  const store: SessionStore = {
    ...inner,
    load: async (key) => {
      loads.set(key, (loads.get(key) ?? 0) + 1);
      return inner.load(key);
    },
    save: (key, state, version) => inner.save(key, state, version),
    delete: (key) => inner.delete(key),
    version: (key) => inner.version!(key),
  };
  return { store, loadsOf: (key: string) => loads.get(key) ?? 0, inner };
}

function echoModel(requests: ModelRequest[]) {
  return new ScriptedModel({
    turns: (request) => {
      requests.push(request);
      const users = request.messages.filter((m) => m.role === 'user');
      return { text: `reply ${users.length}` };
    },
  });
}

describe('session cache', () => {
  it('a follow-up on the same worker uses the cached session without loading it', async () => {
    const setup = memorySetup();
    const { store, loadsOf } = countingStore();
    const requests: ModelRequest[] = [];
    const agent = agentTask({ checkpoints: store, agent: { model: echoModel(requests) } });
    const worker = setup.worker({ handlers: [agent.handler] });
    for (const [runId, prompt] of [
      ['r1', 'first'],
      ['r2', 'second'],
      ['r3', 'third'],
    ]) {
      await setup.dispatcher.dispatch(
        agent.task,
        { prompt, sessionId: 's1' },
        { runId, groupId: 's1' },
      );
      expect(await worker.runOnce()).toBe('completed');
    }
    expect(loadsOf('session:s1')).toBe(0);
    expect(requests[2]?.messages.filter((m) => m.role === 'user')).toHaveLength(3);
  });

  it('falls back to the store when another worker moved the session on', async () => {
    const setup = memorySetup();
    const shared = countingStore();
    const requests: ModelRequest[] = [];
    const agent = agentTask({ checkpoints: shared.store, agent: { model: echoModel(requests) } });
    const worker = setup.worker({ handlers: [agent.handler] });
    await setup.dispatcher.dispatch(
      agent.task,
      { prompt: 'first', sessionId: 's1' },
      { runId: 'r1' },
    );
    expect(await worker.runOnce()).toBe('completed');

    // Another worker (its own cache) continues the session meanwhile.
    const other = agentTask({ checkpoints: shared.store, agent: { model: echoModel([]) } });
    const otherWorker = setup.worker({ handlers: [other.handler] });
    await setup.dispatcher.dispatch(
      other.task,
      { prompt: 'elsewhere', sessionId: 's1' },
      { runId: 'r2' },
    );
    expect(await otherWorker.runOnce()).toBe('completed');

    const before = shared.loadsOf('session:s1');
    await setup.dispatcher.dispatch(
      agent.task,
      { prompt: 'back here', sessionId: 's1' },
      { runId: 'r3' },
    );
    expect(await worker.runOnce()).toBe('completed');
    expect(shared.loadsOf('session:s1')).toBe(before + 1);
    const users = requests
      .at(-1)
      ?.messages.filter((m) => m.role === 'user')
      .map((m) => m.content);
    expect(users).toEqual(['first', 'elsewhere', 'back here']);
  });

  it('a run whose session moved on underneath it fails clearly instead of overwriting history', async () => {
    const setup = memorySetup();
    const checkpoints = createMemorySessionStore();
    const model = new ScriptedModel({ turns: () => ({ text: 'ok' }) });
    const first = agentTask({ checkpoints, agent: { model } });
    const worker = setup.worker({ handlers: [first.handler] });
    await setup.dispatcher.dispatch(
      first.task,
      { prompt: 'start', sessionId: 's1' },
      { runId: 'r1' },
    );
    expect(await worker.runOnce()).toBe('completed');
    // Another follow-up (dispatched without groupId) saves the session while this one runs.
    const racingStore: SessionStore = {
      ...checkpoints,
      save: async (key, state, version) => {
        if (key === 'session:s1') {
          const current = await checkpoints.load(key);
          await checkpoints.save(key, current!.state, current!.version);
        }
        return checkpoints.save(key, state, version);
      },
    };
    const racing = agentTask({ checkpoints: racingStore, maxAttempts: 1, agent: { model } });
    const racer = setup.worker({ handlers: [racing.handler] });
    await setup.dispatcher.dispatch(
      racing.task,
      { prompt: 'again', sessionId: 's1' },
      { runId: 'r2' },
    );
    expect(await racer.runOnce()).toBe('failed');
    expect((await setup.runs.get('r2'))?.error?.message).toMatch(
      /InvalidStateError: session "s1" moved on while run "r2" ran .* groupId: sessionId/,
    );
    expect((await checkpoints.load('session:s1'))?.state.runId).toBe('r1');
  });
});
