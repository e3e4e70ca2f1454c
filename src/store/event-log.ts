/** One stored event of a run. */
export interface LoggedEvent {
  /** Monotonic within the run: comparing ids as {@link compareEventIds} orders the log. */
  id: string;
  data: unknown;
}

/**
 * The per-run output stream: append-only, readable after any id, followable live.
 * Ids are what SSE clients send back as `Last-Event-ID`.
 */
export interface EventLog {
  /** Contract version this object implements. */
  readonly specificationVersion: 'loopwork.event-log.v1';
  /**
   * Appends an event and resolves with its id, greater than every earlier id of the run. Data
   * whose JSON is over the log's `maxEventBytes` is stored as an `EventTooLarge` placeholder.
   */
  append(runId: string, data: unknown): Promise<string>;
  /**
   * Optional: appends several events of one run, in order, in one round trip, and resolves with
   * their ids. The worker uses it for the events that queued up while an append was in flight;
   * without it, it calls `append` for each.
   */
  appendMany?(runId: string, data: readonly unknown[]): Promise<string[]>;
  /** Events after `after` (all when omitted), oldest first, at most `limit`. */
  read(
    runId: string,
    options?: { after?: string | undefined; limit?: number | undefined },
  ): Promise<LoggedEvent[]>;
  /** History after `after`, then live events as they are appended, until `signal` aborts. */
  follow(
    runId: string,
    options?: { after?: string; signal?: AbortSignal },
  ): AsyncIterable<LoggedEvent>;
}

/**
 * Orders event ids of the form `<milliseconds>-<sequence>` (the Redis Streams format, also used
 * by the memory log). Negative when `a` is older.
 */
export function compareEventIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split('-').map(Number);
  const [bMs = 0, bSeq = 0] = b.split('-').map(Number);
  return aMs - bMs || aSeq - bSeq;
}
