import type { RunState } from '../agent/run-state';
import { InvalidStateError } from '../errors';
import type { Message, ToolResultPart } from '../model/messages';

/**
 * Delta checkpoints. A run's state grows by appending — messages, turn records, the results of the
 * step's tool calls — so a save after turn 500 need not rewrite turns 1 to 499. A store keeps one
 * snapshot and the deltas written after it; each delta holds what was appended to the three lists
 * since the previous save, and the rest of the state (small) whole. The tool message a step ends
 * with repeats the step's tool results, already written as they came: it is written as their
 * indexes. A new snapshot is taken once the deltas outweigh it {@link DELTA_SNAPSHOT_RATIO} times,
 * so the bytes written stay within a small multiple of the final state, and a load replays a
 * bounded number of deltas.
 *
 * Appended elements are compared by reference with what the store wrote last: the loop never
 * changes a message it has checkpointed. A state whose lists are not an extension of the last one
 * saved (another writer, an edited transcript, a store that has not seen the key) gets a snapshot.
 */
export interface CheckpointDelta {
  /** Lengths of the lists this delta extends. */
  base: { messages: number; turns: number; toolResults: number };
  /** Appended messages; a step's tool message as the indexes of its results in the base's `toolResults`. */
  messages: Array<Message | { toolResults: number[] }>;
  turns: RunState['turns'];
  /** Appended to the base's tool results, or (with `resetToolResults`) the whole new list. */
  toolResults: ToolResultPart[];
  resetToolResults?: true;
  /** Every other field of the state. */
  rest: Omit<RunState, 'messages' | 'turns' | 'toolResults'>;
}

/** Deltas may weigh this many times the snapshot before the next save is a new snapshot. */
export const DELTA_SNAPSHOT_RATIO = 4;
/** Deltas after one snapshot at most, however small. */
export const MAX_DELTAS = 256;

/** What a store writes for one save. */
export type CheckpointWrite = { kind: 'snapshot'; json: string } | { kind: 'delta'; json: string };

interface Written {
  version: number;
  messages: readonly Message[];
  turns: RunState['turns'];
  toolResults: readonly ToolResultPart[];
  snapshotChars: number;
  deltaChars: number;
  deltas: number;
}

/** True when `next` starts with exactly the elements of `previous`. */
function extends_<T>(previous: readonly T[], next: readonly T[]): boolean {
  if (next.length < previous.length) return false;
  for (let i = 0; i < previous.length; i++) if (next[i] !== previous[i]) return false;
  return true;
}

/** Whether `state` has the three lists deltas extend (a store may be given any JSON). */
function hasLists(state: RunState): boolean {
  return (
    Array.isArray(state?.messages) && Array.isArray(state.turns) && Array.isArray(state.toolResults)
  );
}

/** A tool message made of the base's tool results, as their indexes; undefined when it is not. */
function asResultIndexes(
  message: Message,
  results: readonly ToolResultPart[],
): { toolResults: number[] } | undefined {
  if (message.role !== 'tool' || message.content.length === 0) return undefined;
  const indexes: number[] = [];
  for (const part of message.content) {
    const index = results.indexOf(part);
    if (index < 0) return undefined;
    indexes.push(index);
  }
  return { toolResults: indexes };
}

/**
 * Remembers, per key, what a store last wrote, and turns each save into a snapshot or a delta.
 * One per store instance; call {@link committed} after a write succeeds and {@link forget} when a
 * write fails or the key is deleted.
 */
export class DeltaEncoder {
  private readonly written = new Map<string, Written>();

  /** What to write for `state` over `expectedVersion`. */
  encode(key: string, state: RunState, expectedVersion: number | null): CheckpointWrite {
    const last = this.written.get(key);
    if (
      !last ||
      !hasLists(state) ||
      last.version !== expectedVersion ||
      last.deltas >= MAX_DELTAS ||
      last.deltaChars > DELTA_SNAPSHOT_RATIO * last.snapshotChars ||
      !extends_(last.messages, state.messages) ||
      !extends_(last.turns, state.turns)
    ) {
      return { kind: 'snapshot', json: JSON.stringify(state) };
    }
    const { messages, turns, toolResults, ...rest } = state;
    const appendResults = extends_(last.toolResults, toolResults);
    const delta: CheckpointDelta = {
      base: {
        messages: last.messages.length,
        turns: last.turns.length,
        toolResults: last.toolResults.length,
      },
      messages: messages
        .slice(last.messages.length)
        .map((message) => asResultIndexes(message, last.toolResults) ?? message),
      turns: turns.slice(last.turns.length),
      toolResults: appendResults ? toolResults.slice(last.toolResults.length) : toolResults,
      ...(appendResults ? {} : { resetToolResults: true as const }),
      rest,
    };
    return { kind: 'delta', json: JSON.stringify(delta) };
  }

  /** Records a successful write of `state` as `version`. */
  committed(key: string, state: RunState, version: number, write: CheckpointWrite): void {
    if (!hasLists(state)) {
      this.written.delete(key);
      return;
    }
    const last = this.written.get(key);
    const snapshot = write.kind === 'snapshot';
    this.written.set(key, {
      version,
      // Copies of the lists (of references, cheap): a caller pushing onto the saved arrays must
      // not change what this remembers was written.
      messages: state.messages.slice(),
      turns: state.turns.slice(),
      toolResults: state.toolResults.slice(),
      snapshotChars: snapshot ? write.json.length : (last?.snapshotChars ?? write.json.length),
      deltaChars: snapshot ? 0 : (last?.deltaChars ?? 0) + write.json.length,
      deltas: snapshot ? 0 : (last?.deltas ?? 0) + 1,
    });
  }

  /** Forgets `key`: its next save is a snapshot. */
  forget(key: string): void {
    this.written.delete(key);
  }
}

/** Applies `delta` (as written by {@link DeltaEncoder}) to `state`, which it must extend. */
export function applyCheckpointDelta(state: RunState, delta: CheckpointDelta): RunState {
  const { base } = delta;
  if (
    state.messages.length !== base.messages ||
    state.turns.length !== base.turns ||
    state.toolResults.length !== base.toolResults
  ) {
    throw new InvalidStateError(
      `checkpoint delta extends ${base.messages} messages, ${base.turns} turns and ${base.toolResults} tool results, but the state has ${state.messages.length}, ${state.turns.length} and ${state.toolResults.length}`,
    );
  }
  const messages = delta.messages.map((entry): Message => {
    if ('role' in entry) return entry;
    const content = entry.toolResults.map((index) => {
      const part = state.toolResults[index];
      if (!part)
        throw new InvalidStateError(
          `checkpoint delta names tool result ${index}, which is missing`,
        );
      return part;
    });
    return { role: 'tool', content };
  });
  return {
    ...delta.rest,
    messages: [...state.messages, ...messages],
    turns: [...state.turns, ...delta.turns],
    toolResults: delta.resetToolResults
      ? delta.toolResults
      : [...state.toolResults, ...delta.toolResults],
  } as RunState;
}

/** The state a snapshot and the deltas after it describe (JSON text as stored). */
export function replayCheckpoint(snapshot: string, deltas: readonly string[]): RunState {
  let state = JSON.parse(snapshot) as RunState;
  for (const delta of deltas) {
    state = applyCheckpointDelta(state, JSON.parse(delta) as CheckpointDelta);
  }
  return state;
}
