import type { EventLog } from '../store/event-log';

/** Events in one `appendMany` at most. */
const MAX_BATCH = 128;
/** Longest text of a delta made by joining queued ones. */
const MAX_JOINED_TEXT = 8_192;

type Delta = Record<string, unknown>;

/**
 * Queued deltas that may be joined: text of one turn (`text-delta`), and the streamed input of one
 * tool call (`tool-input-delta`). Returns the field holding the text and what must match, or
 * undefined for any other event (including one carrying fields a join would drop).
 */
function joinable(value: unknown): { field: string; key: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const event = value as Delta;
  if (
    event.type === 'text-delta' &&
    typeof event.text === 'string' &&
    Object.keys(event).length === 4
  ) {
    return { field: 'text', key: `text|${String(event.runId)}|${String(event.turn)}` };
  }
  if (
    event.type === 'tool-input-delta' &&
    typeof event.inputTextDelta === 'string' &&
    Object.keys(event).length === 5
  ) {
    const key = `tool|${String(event.runId)}|${String(event.turn)}|${String(event.toolCallId)}`;
    return { field: 'inputTextDelta', key };
  }
  return undefined;
}

/** What failed: how many events were lost, and the first error. */
export interface LostAppends {
  count: number;
  first: unknown;
}

/**
 * Appends one run's events in order without waiting on each: the first goes at once, and the ones
 * emitted while an append is in flight queue up and go together next, in one `appendMany` when
 * the log has it (one round trip instead of one per event). Queued text deltas of the same turn,
 * and queued input deltas of the same tool call, are joined into one (up to 8 KiB of text), so a
 * fast stream costs a few appends, not one per token. A failed append loses the events it carried, counted in `lost`; the next still runs.
 */
export function eventAppender(log: EventLog, runId: string) {
  const pending: unknown[] = [];
  const lost: LostAppends = { count: 0, first: undefined };
  let draining: Promise<void> | undefined;

  const lose = (error: unknown, count: number) => {
    if (lost.count === 0) lost.first = error;
    lost.count += count;
  };

  async function drain(): Promise<void> {
    while (pending.length > 0) {
      const batch = pending.splice(0, MAX_BATCH);
      if (batch.length > 1 && log.appendMany) {
        await log.appendMany(runId, batch).catch((error: unknown) => lose(error, batch.length));
        continue;
      }
      for (const event of batch) {
        await log.append(runId, event).catch((error: unknown) => lose(error, 1));
      }
    }
    draining = undefined;
  }

  return {
    lost,
    /** Queues `event` (already redacted and JSON-safe). */
    push(event: unknown): void {
      const last = pending.at(-1) as Delta | undefined;
      const next = joinable(event);
      const previous = joinable(last);
      if (next && previous && next.key === previous.key) {
        const joined = String(last?.[next.field]) + String((event as Delta)[next.field]);
        if (joined.length <= MAX_JOINED_TEXT) {
          pending[pending.length - 1] = { ...last, [next.field]: joined };
          draining ??= drain();
          return;
        }
      }
      pending.push(event);
      draining ??= drain();
    },
    /** Settles once every event pushed so far was appended or counted as lost. */
    flushed(): Promise<void> {
      return draining ?? Promise.resolve();
    },
  };
}
