/** The marker stored in place of an event larger than an event log's `maxEventBytes`. */
export interface EventTooLarge {
  type: 'event-too-large';
  /** The `type` of the event that was too large, when it had one. */
  originalType?: string;
  /** Its size as JSON, in bytes. */
  bytes: number;
  /** The log's `maxEventBytes`. */
  limit: number;
}

/**
 * An event as an event log stores it: its JSON, or — when that is larger than `maxEventBytes` —
 * the JSON of an {@link EventTooLarge} marker, so the run's stream keeps its order and its
 * clients see that something was left out, and one huge event cannot fill the store.
 */
export function storedEvent(data: unknown, maxEventBytes: number): string {
  const json = JSON.stringify(data) ?? 'null';
  const bytes = Buffer.byteLength(json);
  if (bytes <= maxEventBytes) return json;
  const type = (data as { type?: unknown } | null)?.type;
  const marker: EventTooLarge = {
    type: 'event-too-large',
    ...(typeof type === 'string' ? { originalType: type.slice(0, 100) } : {}),
    bytes,
    limit: maxEventBytes,
  };
  return JSON.stringify(marker);
}
