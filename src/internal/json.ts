/**
 * A value as plain JSON, the way every event log stores it (Redis serializes; the memory log
 * would otherwise keep class instances and BigInts that no SSE client can receive): BigInts
 * become strings, what JSON drops is dropped, and a value JSON cannot hold at all becomes a note
 * saying so instead of an exception in the middle of a run.
 */
export function toJsonValue(value: unknown): unknown {
  try {
    const json = JSON.stringify(value, (_key, item) =>
      typeof item === 'bigint' ? item.toString() : item,
    );
    return json === undefined ? null : JSON.parse(json);
  } catch (error) {
    return { type: 'unserializable', message: (error as Error).message };
  }
}
