import { InvalidOptionError } from '../errors';

/** Defaults of the event logs' options (memory, Redis, and any log built on {@link createEventEncoder}). */
export const EVENT_LOG_DEFAULTS = {
  /**
   * Largest event a log stores as is, in UTF-8 bytes of its JSON; a larger one is stored as an
   * {@link EventTooLarge} placeholder in its place. 1 MiB is far above what an agent emits (a text
   * delta, a tool call and its result: a few KB, a large tool output some hundred KB), yet keeps
   * one event from costing every SSE client, every Redis page and the browser that parses it
   * an unbounded amount of memory.
   * @defaultValue 1048576 (1 MiB)
   */
  maxEventBytes: 1_048_576,
} as const;

/** The smallest `maxEventBytes` accepted: room for any placeholder, so one always fits. */
const MIN_EVENT_BYTES = 1_024;

/** The longest `originalType` a placeholder keeps (a huge type must not make a huge placeholder). */
const MAX_TYPE_LENGTH = 100;

/**
 * What an event log stores (and an SSE stream sends) instead of an event whose JSON is larger
 * than the limit, so the run goes on, the log keeps its order and a client sees what was dropped.
 */
export interface EventTooLarge {
  type: 'event-too-large';
  /** The `type` of the event it replaces (at most 100 characters), when that was a string. */
  originalType?: string;
  /** Size of the replaced event's JSON, in UTF-8 bytes. */
  bytes: number;
  /** The limit it went over, in bytes. */
  limit: number;
}

/** An event ready to store: the data to keep (the original or a placeholder) and its JSON. */
export interface EncodedEvent {
  data: unknown;
  json: string;
}

/** The placeholder for `data`, whose JSON is `bytes` long, over `limit`. */
export function eventTooLarge(data: unknown, bytes: number, limit: number): EventTooLarge {
  const type = (data as { type?: unknown } | null)?.type;
  return {
    type: 'event-too-large',
    ...(typeof type === 'string' ? { originalType: type.slice(0, MAX_TYPE_LENGTH) } : {}),
    bytes,
    limit,
  };
}

/**
 * Returns the size check every event log applies in `append`: it serializes the data once and
 * swaps an event over `maxEventBytes` for an {@link EventTooLarge} placeholder. Written once so
 * the memory and Redis logs (and yours) behave alike. Throws {@link InvalidOptionError} for a
 * limit below 1024 bytes (its message starts with `[loopwork:<adapter>]` when `adapter` is
 * given); data `JSON.stringify` cannot encode (a cycle, a BigInt) throws its TypeError, since no
 * log could serve it.
 *
 * @example
 * ```ts
 * const encode = createEventEncoder(options.maxEventBytes, 'my-store');
 * const { json } = encode(data); // store json
 * ```
 */
export function createEventEncoder(
  maxEventBytes: number = EVENT_LOG_DEFAULTS.maxEventBytes,
  adapter?: string,
): (data: unknown) => EncodedEvent {
  if (!Number.isSafeInteger(maxEventBytes) || maxEventBytes < MIN_EVENT_BYTES) {
    throw new InvalidOptionError(
      `${adapter ? `[loopwork:${adapter}] ` : ''}maxEventBytes must be an integer of at least ${MIN_EVENT_BYTES}, got ${String(maxEventBytes)}`,
    );
  }
  return (data) => {
    // `undefined` (and a bare function) have no JSON; store them as null rather than nothing.
    const json = JSON.stringify(data) ?? 'null';
    // A UTF-16 unit is at most 3 UTF-8 bytes, so short strings need no count.
    if (json.length * 3 <= maxEventBytes) return { data, json };
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes <= maxEventBytes) return { data, json };
    const placeholder = eventTooLarge(data, bytes, maxEventBytes);
    return { data: placeholder, json: JSON.stringify(placeholder) };
  };
}
