import {
  createMemorySessionStore,
  InvalidStateError,
  parseRunState,
  RUN_STATE_SCHEMA_VERSION,
  type RunState,
  runAgent,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { countingEcho, rejectionOf } from './helpers';

async function realState(): Promise<RunState> {
  const model = new ScriptedModel({
    turns: [
      { text: 'checking', toolCalls: [{ name: 'echo', input: { text: 'x' } }] },
      { text: 'done' },
    ],
  });
  const result = await runAgent({
    model,
    prompt: [{ type: 'text', text: 'hi' }],
    system: 'sys',
    tools: [countingEcho().tool],
  });
  return result.state;
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Sets a dotted path (array indexes included) inside a plain JSON value. */
const setAt = (target: Record<string, unknown>, path: string, value: unknown) => {
  const keys = path.split('.');
  const last = keys.pop() as string;
  let node = target;
  for (const key of keys) node = node[key] as Record<string, unknown>;
  node[last] = value;
};

describe('parseRunState', () => {
  it('accepts the state of a real run, which is plain JSON', async () => {
    const state = await realState();
    expect(state.schemaVersion).toBe(RUN_STATE_SCHEMA_VERSION);
    expect(RUN_STATE_SCHEMA_VERSION).toBe(1);
    expect(clone(state)).toEqual(state);
    expect(parseRunState(clone(state))).toEqual(state);
  });

  it.each([
    [
      2,
      'run state has schemaVersion 2, this loopwork reads 1; migrate it or finish the run with the version that wrote it',
    ],
    [
      undefined,
      'run state has schemaVersion undefined, this loopwork reads 1; migrate it or finish the run with the version that wrote it',
    ],
    [
      '1',
      'run state has schemaVersion "1", this loopwork reads 1; migrate it or finish the run with the version that wrote it',
    ],
  ])('refuses schemaVersion %s', async (version, message) => {
    const state = { ...clone(await realState()), schemaVersion: version };
    const error = await rejectionOf(() => parseRunState(state));
    expect(InvalidStateError.isInstance(error)).toBe(true);
    expect(error.message).toBe(message);
  });

  it('refuses values that are not objects', () => {
    for (const value of [null, undefined, 'state', 42]) {
      expect(() => parseRunState(value)).toThrow(InvalidStateError);
    }
  });

  // [what is corrupted, the field set, its bad value, the path the error must name]
  const corruptions: Array<[string, string, unknown, string]> = [
    ['runId', 'runId', '', 'runId'],
    ['status', 'status', 'sleeping', 'status'],
    ['a message role', 'messages.1.role', 'robot', 'messages.1.role'],
    ['a message part', 'messages.1.content.0', { type: 'video' }, 'messages.1.content.0'],
    ['usage', 'turns.0.usage.inputTokens', -1, 'turns.0.usage.inputTokens'],
    ['a turn number', 'turns.1.turn', 0, 'turns.1.turn'],
    ['a stop reason', 'turns.0.stopReason', 'tired', 'turns.0.stopReason'],
    ['a cost', 'turns.0.costUsd', 'free', 'turns.0.costUsd'],
    [
      'a tool result',
      'toolResults',
      [{ type: 'tool-result', toolCallId: 'x', toolName: 'y', output: 1, isError: false }],
      'toolResults.0.output',
    ],
    [
      'a suspension',
      'suspensions',
      [{ toolName: 'ask', payload: null }],
      'suspensions.0.toolCallId',
    ],
    ['the messages list', 'messages', 'hello', 'messages'],
    ['the error', 'error', { code: 1, message: 'x' }, 'error.code'],
  ];

  it.each(corruptions)(
    'names the path of a corrupt field: %s',
    async (_name, field, value, path) => {
      const state = clone(await realState()) as unknown as Record<string, unknown>;
      setAt(state, field, value);
      const error = await rejectionOf(() => parseRunState(state));
      expect(InvalidStateError.isInstance(error)).toBe(true);
      expect((error as InvalidStateError).code).toBe('invalid_state');
      expect(error.message).toMatch(
        new RegExp(`^run state is invalid at ${path.replaceAll('.', '\\.')}: .+`),
      );
      expect(error.cause).toBeDefined();
    },
  );
});

describe('runAgent with a corrupt stored state', () => {
  it('rejects with InvalidStateError before any model call', async () => {
    const store = createMemorySessionStore();
    const state = clone(await realState()) as unknown as Record<string, unknown>;
    setAt(state, 'runId', 'stored');
    setAt(state, 'turns.0.usage.outputTokens', 'many');
    await store.save('stored', state as unknown as RunState, null);
    const model = new ScriptedModel({ turns: [{ text: 'never' }] });
    const error = await rejectionOf(() => runAgent({ model, checkpoints: store, runId: 'stored' }));
    expect(InvalidStateError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/^run state is invalid at turns\.0\.usage\.outputTokens: /);
    expect(model.requests).toHaveLength(0);
  });

  it('rejects a given state from a newer version the same way', async () => {
    const state = { ...clone(await realState()), schemaVersion: 99 };
    const error = await rejectionOf(() =>
      runAgent({ model: new ScriptedModel({ turns: [] }), state: state as never }),
    );
    expect(InvalidStateError.isInstance(error)).toBe(true);
    expect(error.message).toContain('schemaVersion 99');
  });
});
