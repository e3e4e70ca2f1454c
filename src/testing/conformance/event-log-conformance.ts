import assert from 'node:assert/strict';
import { compareEventIds, type EventLog, type LoggedEvent } from '../../store/event-log';
import { EVENT_LOG_DEFAULTS } from '../../store/event-size';
import {
  type ConformanceRunner,
  type ConformanceTiming,
  defineTest,
  pollUntil,
  resolveTiming,
  uniqueName,
  withinBound,
} from './harness';

/** Options of {@link eventLogConformance}. */
export interface EventLogConformanceOptions extends ConformanceRunner {
  /**
   * Builds the log for one test; tests use random run ids, so logs may share a server. Pass
   * `maxEventBytes` on to the log (`createEventEncoder` from `loopwork` implements it): an event
   * log stores an event over its limit as an `event-too-large` placeholder, 1 MiB by default.
   */
  createLog: (options?: { maxEventBytes?: number }) => Promise<EventLog>;
  /** Runs after each test. */
  cleanup?: (log: EventLog) => Promise<void>;
  /** `settleMs` bounds how long live events and the end of `follow` may take to arrive. */
  timing?: ConformanceTiming;
}

const data = (i: number) => ({ type: 'step', i, text: `event ${i} ✓` });

/** The largest id there can be (both parts 2^64 - 1). */
const LAST_POSSIBLE_ID = '18446744073709551615-18446744073709551615';

/** Event data whose JSON is exactly `bytes` UTF-8 bytes, with two-byte characters in it. */
function sized(type: string, bytes: number): { type: string; text: string } {
  const base = Buffer.byteLength(JSON.stringify({ type, text: '' }));
  const room = bytes - base;
  const wide = Math.floor(room / 4); // 'é' is 2 bytes; half the room is spent on them
  return { type, text: 'é'.repeat(wide) + 'x'.repeat(room - 2 * wide) };
}

function assertIncreasing(ids: readonly string[]): void {
  for (let i = 1; i < ids.length; i++) {
    assert.ok(
      compareEventIds(ids[i - 1]!, ids[i]!) < 0,
      `id ${ids[i]} does not come after ${ids[i - 1]} by compareEventIds`,
    );
  }
}

/**
 * Registers the conformance tests of the {@link EventLog} contract: increasing ids, read after
 * an id (the SSE catch-up, up to the largest possible id), limit, follow (history then live,
 * until aborted), concurrent appends, and events over `maxEventBytes` kept as placeholders.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { createMemoryEventLog } from 'loopwork';
 * import { eventLogConformance } from 'loopwork/testing';
 *
 * eventLogConformance({ describe, it, createLog: async () => createMemoryEventLog() });
 * ```
 */
export function eventLogConformance(options: EventLogConformanceOptions): void {
  const timing = resolveTiming(options.timing);
  const test = (
    name: string,
    body: (log: EventLog, runId: string) => Promise<void>,
    logOptions?: { maxEventBytes?: number },
  ) =>
    defineTest(
      options.it,
      name,
      () => (logOptions ? options.createLog(logOptions) : options.createLog()),
      async (log) => options.cleanup?.(log),
      (log) => body(log, uniqueName('conformance-run')),
    );
  const appendAll = async (log: EventLog, runId: string, from: number, to: number) => {
    const ids: string[] = [];
    for (let i = from; i < to; i++) ids.push(await log.append(runId, data(i)));
    return ids;
  };

  options.describe('event log conformance (loopwork.event-log.v1)', () => {
    test('declares its contract version', async (log) => {
      assert.equal(log.specificationVersion, 'loopwork.event-log.v1');
    });

    test('append returns increasing ids; read returns every event in order', async (log, runId) => {
      const ids = await appendAll(log, runId, 0, 5);
      assertIncreasing(ids);
      const events = await log.read(runId);
      assert.deepEqual(
        events,
        ids.map((id, i) => ({ id, data: data(i) })),
      );
      assert.deepEqual(await log.read(`${runId}-other`), [], 'runs are separate');
    });

    test('appendMany (when the log has it) appends in order after earlier events, with increasing ids', async (log, runId) => {
      if (!log.appendMany) {
        assert.equal(log.appendMany, undefined, 'appendMany is a function or absent');
        return;
      }
      const first = await log.append(runId, data(0));
      const many = await log.appendMany(runId, [data(1), data(2), data(3)]);
      assert.equal(many.length, 3, 'one id per event');
      assertIncreasing([first, ...many]);
      assert.deepEqual(await log.appendMany(runId, []), [], 'an empty batch appends nothing');
      assert.deepEqual(
        await log.read(runId),
        [first, ...many].map((id, i) => ({ id, data: data(i) })),
      );
    });

    test('read after an id returns exactly the later events, in order', async (log, runId) => {
      const ids = await appendAll(log, runId, 0, 6);
      for (let k = 0; k < ids.length; k++) {
        const after = await log.read(runId, { after: ids[k]! });
        assert.deepEqual(
          after.map((e) => e.id),
          ids.slice(k + 1),
          `read after the event at index ${k}`,
        );
      }
    });

    test('read honours limit, with and without after', async (log, runId) => {
      const ids = await appendAll(log, runId, 0, 6);
      assert.deepEqual(
        (await log.read(runId, { limit: 2 })).map((e) => e.id),
        ids.slice(0, 2),
      );
      assert.deepEqual(
        (await log.read(runId, { after: ids[1]!, limit: 3 })).map((e) => e.id),
        ids.slice(2, 5),
      );
    });

    test('follow delivers the history, then live events, in order, and ends on abort', async (log, runId) => {
      const ids = await appendAll(log, runId, 0, 3);
      const controller = new AbortController();
      const seen: LoggedEvent[] = [];
      const following = (async () => {
        for await (const event of log.follow(runId, {
          after: ids[0]!,
          signal: controller.signal,
        })) {
          seen.push(event);
        }
      })();
      const arrived = (n: number) => () => (seen.length >= n ? true : undefined);
      try {
        await pollUntil(arrived(2), timing.patienceMs, 'follow did not deliver the history');
        ids.push(...(await appendAll(log, runId, 3, 6)));
        await pollUntil(arrived(5), timing.patienceMs, 'follow did not deliver live events');
      } finally {
        controller.abort();
      }
      await withinBound(
        following,
        timing.patienceMs,
        'follow did not end after its signal aborted',
      );
      assert.deepEqual(
        seen,
        ids.slice(1).map((id, i) => ({ id, data: data(i + 1) })),
      );
    });

    test('read after the largest possible id returns nothing (and does not fail)', async (log, runId) => {
      await appendAll(log, runId, 0, 2);
      assert.deepEqual(await log.read(runId, { after: LAST_POSSIBLE_ID }), []);
      assert.equal((await log.read(runId, { after: '0-0' })).length, 2, 'after 0-0: everything');
    });

    test(
      'an event over maxEventBytes is stored as an event-too-large placeholder, in its place',
      async (log, runId) => {
        const limit = 2_048;
        const fits = sized('big', limit);
        const over = sized('big', limit + 1);
        const ids = [
          await log.append(runId, fits),
          await log.append(runId, over),
          await log.append(runId, data(2)),
        ];
        assertIncreasing(ids);
        assert.deepEqual(await log.read(runId), [
          { id: ids[0], data: fits },
          {
            id: ids[1],
            data: { type: 'event-too-large', originalType: 'big', bytes: limit + 1, limit },
          },
          { id: ids[2], data: data(2) },
        ]);
      },
      { maxEventBytes: 2_048 },
    );

    test(`without maxEventBytes the limit is ${EVENT_LOG_DEFAULTS.maxEventBytes} bytes`, async (log, runId) => {
      const limit = EVENT_LOG_DEFAULTS.maxEventBytes;
      const fits = sized('large', limit);
      await log.append(runId, fits);
      await log.append(runId, sized('large', limit + 1));
      const [first, second] = await log.read(runId);
      assert.deepEqual(first?.data, fits, 'an event of exactly the limit is stored as is');
      assert.deepEqual(second?.data, {
        type: 'event-too-large',
        originalType: 'large',
        bytes: limit + 1,
        limit,
      });
    });

    test('concurrent appends keep one total order, without gaps or duplicates', async (log, runId) => {
      const count = 50;
      const ids = await Promise.all(
        Array.from({ length: count }, (_, i) => log.append(runId, data(i))),
      );
      assert.equal(new Set(ids).size, count, 'every append got its own id');
      const events = await log.read(runId);
      assertIncreasing(events.map((e) => e.id));
      assert.deepEqual(
        events.map((e) => e.id).sort(compareEventIds),
        [...ids].sort(compareEventIds),
        'read returns exactly the appended events',
      );
      const byId = new Map(ids.map((id, i) => [id, data(i)]));
      for (const event of events) assert.deepEqual(event.data, byId.get(event.id));
    });
  });
}
