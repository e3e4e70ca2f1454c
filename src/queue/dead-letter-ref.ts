import { InvalidOptionError } from '../errors';

/**
 * Checks the arguments of `Queue.removeDeadLetter` the same way in every adapter: `queue`
 * and `id` must be non-empty strings, else an InvalidOptionError naming the argument and the
 * adapter (`[loopwork:<adapter>] …`).
 *
 * @example
 * ```ts
 * async removeDeadLetter(queue, id) {
 *   assertDeadLetterRef('my-adapter', queue, id);
 *   // …
 * }
 * ```
 */
export function assertDeadLetterRef(adapter: string, queue: unknown, id: unknown): void {
  for (const [name, value] of [
    ['queue', queue],
    ['id', id],
  ] as const) {
    if (typeof value !== 'string' || value === '') {
      throw new InvalidOptionError(
        `[loopwork:${adapter}] removeDeadLetter: ${name} must be a non-empty string, got ${String(JSON.stringify(value)).slice(0, 80)}; pass the letter's ${name} as deadLetters(queue) returns it`,
      );
    }
  }
}
