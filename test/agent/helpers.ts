// Shared helpers for the agent tests (not a test file: vitest only collects *.test.ts).

import {
  type AgentEvent,
  createMemorySessionStore,
  defineTool,
  type RunState,
  type SessionStore,
  type ToolResultPart,
} from 'loopwork';
import { z } from 'zod';

export { rejectionOf } from '../helpers/rejection';

/** Collects events pushed to it (use as `onEvent`). */
export function eventLog() {
  const events: AgentEvent[] = [];
  const onEvent = (event: AgentEvent) => {
    events.push(event);
  };
  const ofType = <T extends AgentEvent['type']>(type: T) =>
    events.filter((event): event is Extract<AgentEvent, { type: T }> => event.type === type);
  return { events, onEvent, ofType, types: () => events.map((event) => event.type) };
}

/** A promise with its resolve function exposed. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A promise that never settles: a tool that hangs and ignores its signal. */
export const forever = () => new Promise<never>(() => {});

/**
 * A memory session store that records a JSON snapshot of every saved state and lets a test act
 * right after the n-th save (for example abort the run), before the save resolves to the loop.
 */
export function recordingStore(
  options: { inner?: SessionStore; afterSave?: (count: number, state: RunState) => void } = {},
) {
  const inner = options.inner ?? createMemorySessionStore();
  const snapshots: RunState[] = [];
  let loads = 0;
  const store: SessionStore & { snapshots: RunState[]; loads: () => number } = {
    specificationVersion: 'loopwork.session-store.v1',
    snapshots,
    loads: () => loads,
    async load(key) {
      loads++;
      return inner.load(key);
    },
    async save(key, state, expectedVersion) {
      const version = await inner.save(key, state, expectedVersion);
      snapshots.push(JSON.parse(JSON.stringify(state)) as RunState);
      options.afterSave?.(snapshots.length, state);
      return version;
    },
    delete: (key) => inner.delete(key),
  };
  return store;
}

/** The tool results of the last tool message of a transcript. */
export function lastToolResults(
  messages: readonly { role: string; content: unknown }[],
): ToolResultPart[] {
  const last = messages.findLast((message) => message.role === 'tool');
  return (last?.content ?? []) as ToolResultPart[];
}

/** A tool that echoes its input text, counting executions by idempotency key. */
export function countingEcho(name = 'echo') {
  const executions = new Map<string, number>();
  const tool = defineTool({
    name,
    description: 'Echoes the text it is given',
    input: z.object({ text: z.string() }),
    execute: ({ text }, { idempotencyKey }) => {
      executions.set(idempotencyKey, (executions.get(idempotencyKey) ?? 0) + 1);
      return `echo: ${text}`;
    },
  });
  return { tool, executions };
}

/** A price table entry for the scripted model, in USD per million tokens. */
export const scriptedPrice = (inputPerMTok: number, outputPerMTok: number, extra: object = {}) => ({
  scripted: { inputPerMTok, outputPerMTok, ...extra },
});
