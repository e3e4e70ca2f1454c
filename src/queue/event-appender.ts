import type { EventLog } from '../store/event-log';

/** Events in one `appendMany` at most. */
const MAX_BATCH = 128;
/** Longest text of a text-delta made by joining queued ones. */
const MAX_JOINED_TEXT = 8_192;

type TextDelta = { type: 'text-delta'; runId: string; turn: number; text: string };

function isTextDelta(value: unknown): value is TextDelta {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Record<string, unknown>;
  return (
    event.type === 'text-delta' &&
    typeof event.text === 'string' &&
    Object.keys(event).length === 4 &&
    'runId' in event &&
    'turn' in event
  );
}

/** What failed: how many events were lost, and the first error. */
export interface LostAppends {
  count: number;
  first: unknown;
}

/**
 * Appends one run's events in order without waiting on each: the first goes at once, and the ones
 * emitted while an append is in flight queue up and go together next, in one `appendMany` when
 * the log has it (one round trip instead of one per event). Queued text deltas of the same turn
 * are joined into one (up to 8 KiB of text), so a fast stream costs a few appends, not one per
 * token. A failed append loses the events it carried, counted in `lost`; the next still runs.
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
      const last = pending.at(-1);
      if (
        isTextDelta(event) &&
        isTextDelta(last) &&
        last.turn === event.turn &&
        last.runId === event.runId &&
        last.text.length + event.text.length <= MAX_JOINED_TEXT
      ) {
        pending[pending.length - 1] = { ...last, text: last.text + event.text };
      } else {
        pending.push(event);
      }
      draining ??= drain();
    },
    /** Settles once every event pushed so far was appended or counted as lost. */
    flushed(): Promise<void> {
      return draining ?? Promise.resolve();
    },
  };
}
