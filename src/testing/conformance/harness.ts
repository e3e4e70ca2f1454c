import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

/**
 * The two functions a conformance suite needs from a test runner. vitest's, jest's and
 * `node:test`'s `describe` and `it` all fit; assertions use `node:assert/strict`, so the suites
 * depend on no runner.
 */
export interface ConformanceRunner {
  /** Groups the suite's tests, as the runner's `describe`. */
  describe: (name: string, fn: () => void) => void;
  /** Registers one test, as the runner's `it`. */
  it: (name: string, fn: () => Promise<void>) => void;
}

/** Time windows of tests that wait for leases, delays or TTLs to run out. */
export interface ConformanceTiming {
  /** Short lease, delay or TTL used by tests that wait for one to run out. @defaultValue 150 */
  leaseMs?: number;
  /**
   * Slack given to the system under test: how long a "nothing happens" check watches, and the
   * unit of the bound on every "eventually happens" poll (`leaseMs + 10 × settleMs`).
   * Widen both for real servers whose timers are coarse (SQS counts visibility in seconds).
   * @defaultValue 100
   */
  settleMs?: number;
}

/** {@link ConformanceTiming} with defaults applied, plus the bound on eventual conditions. */
export interface Timing {
  leaseMs: number;
  settleMs: number;
  /** Longest a test waits for something that must eventually happen. */
  patienceMs: number;
}

export function resolveTiming(timing: ConformanceTiming = {}): Timing {
  const leaseMs = timing.leaseMs ?? 150;
  const settleMs = timing.settleMs ?? 100;
  return { leaseMs, settleMs, patienceMs: leaseMs + 10 * settleMs };
}

/** A name no other test (or other user of a shared server) will use. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with `message` when `promise` has not settled within `ms`. */
export async function withinBound<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message })), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** Calls `check` until it returns a value other than undefined, for at most `boundMs`. */
export async function pollUntil<T>(
  check: () => Promise<T | undefined> | T | undefined,
  boundMs: number,
  message: string,
  intervalMs = 10,
): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new assert.AssertionError({ message });
    await sleep(intervalMs);
  }
}

/** Asserts that `promise` rejects with an error `is` accepts, whose message names its adapter. */
export async function rejectsWith(
  promise: Promise<unknown>,
  is: (error: unknown) => boolean,
  what: string,
): Promise<void> {
  await assert.rejects(
    promise,
    (error: unknown) => {
      assert.ok(is(error), `${what}: rejected with the wrong error: ${String(error)}`);
      assert.match(
        (error as Error).message,
        /^\[loopwork:[^\]]+\] /,
        `${what}: the error message should start with "[loopwork:<adapter>] "`,
      );
      return true;
    },
    `${what}: expected a rejection, but it resolved`,
  );
}

/** Registers a test that builds its subject with `create`, runs `body`, then always runs `dispose`. */
export function defineTest<S>(
  it: ConformanceRunner['it'],
  name: string,
  create: () => Promise<S>,
  dispose: (subject: S) => Promise<void>,
  body: (subject: S) => Promise<void>,
): void {
  it(name, async () => {
    const subject = await create();
    try {
      await body(subject);
    } finally {
      await dispose(subject);
    }
  });
}
