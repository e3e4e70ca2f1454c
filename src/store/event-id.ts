/** Largest value of either part of an event id: the Redis Streams limit, 2^64 - 1. */
export const MAX_EVENT_ID_PART = 18_446_744_073_709_551_615n;

/** Longest possible event id: two 20-digit parts and the dash. */
const MAX_EVENT_ID_LENGTH = 41;

/**
 * Says why `value` is not an event id (`<milliseconds>-<sequence>`, each a decimal integer from 0
 * to 2^64 - 1 without leading zeros, as the logs write them), or `undefined` when it is one.
 * Strict on purpose: the ids a client may send back are only the ones a log gave out, so anything
 * else is refused before a log sees it.
 */
export function eventIdProblem(value: string): string | undefined {
  if (value.length > MAX_EVENT_ID_LENGTH) {
    return `it is ${value.length} characters long, and an event id has at most ${MAX_EVENT_ID_LENGTH}`;
  }
  if (value === '') return 'it is empty';
  if (/\s/.test(value)) return 'it contains whitespace';
  if (value.startsWith('-')) return 'it is negative';
  const match = /^(\d+)-(\d+)$/.exec(value);
  if (!match) return 'it is not two decimal integers joined by "-"';
  const parts: Array<[string, string]> = [
    ['milliseconds', match[1] as string],
    ['sequence', match[2] as string],
  ];
  for (const [name, digits] of parts) {
    if (digits.length > 1 && digits.startsWith('0')) return `its ${name} part has a leading zero`;
    if (BigInt(digits) > MAX_EVENT_ID_PART) {
      return `its ${name} part is larger than ${MAX_EVENT_ID_PART}`;
    }
  }
  return undefined;
}

/**
 * The greatest id smaller than `id` (a valid id), or `undefined` for `0-0`. Reading after it
 * returns the event with exactly this id first, if the log has one.
 */
export function eventIdBefore(id: string): string | undefined {
  const [ms, seq] = id.split('-').map(BigInt) as [bigint, bigint];
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  if (ms > 0n) return `${ms - 1n}-${MAX_EVENT_ID_PART}`;
  return undefined;
}
