import { LeaseLostError } from '../errors';
import { Holds } from '../internal/holds';
import type { RunStanding } from '../store/run-store';
import type { Scheduled } from './due-queue';
import type { ClaimedMessage } from './queue';
import type { WorkerDeps } from './worker-deps';

/** Messages in one `extendMany` call, or heartbeats in one `beatMany`, at most. */
const MAX_BATCH = 500;

/** A running attempt's hold on its message, and what to do when a renewal finds it gone. */
export interface LeaseHold {
  message: ClaimedMessage;
  runId: string;
  attempt: number;
  /** The lease is gone: another consumer may hold the message now. */
  lost(why: string): void;
  /** The run asks its current attempt to stop. */
  cancelled(reason: string): void;
  /** The run moved on without this attempt (the watchdog requeued it, another attempt took it). */
  superseded(why: string): void;
}

/**
 * What a worker renews for its running attempts, each on one schedule for all of them: their
 * leases (`hold`) and their runs' heartbeats (`beat`).
 *
 * Leases every `leaseMs / 3`,
 * one `extendMany` per batch of held messages when the queue has it (one round trip, and one
 * script on Redis, instead of one per message), else an `extend` each, all sent at once. Then the
 * renewed attempts' runs are read, for a cancel request or a run that moved on without them: one
 * `getStandings` per batch when the run store has it (a few fields, not the record), else a `get`
 * each.
 * A message held for less than the interval is renewed on the next round, so no lease goes
 * longer than `leaseMs / 3` unrenewed, as with a timer per attempt. A round still in flight when
 * the next is due makes the next skip (a slow queue is not sent a second wave).
 */
export function renewals(
  deps: Pick<
    WorkerDeps,
    'queue' | 'runs' | 'heartbeats' | 'leaseMs' | 'heartbeatTtlMs' | 'workerId' | 'report' | 'due'
  >,
) {
  const held = new Set<LeaseHold>();
  let schedule: Scheduled | undefined;
  let renewing = false;
  let stopped = false;
  /** Runs whose `run:<runId>` heartbeat is beaten every `heartbeatTtlMs / 3`, by the attempts that hold each. */
  const beating = new Holds<string>();
  let beatSchedule: Scheduled | undefined;
  let beatingNow = false;

  /**
   * One round of heartbeats: one `beatMany` per batch when the store has it, else a `beat` each,
   * sent together. A failure is reported; the next round beats again.
   */
  async function beatAll(): Promise<void> {
    const store = deps.heartbeats;
    if (!store || beatingNow || stopped || beating.size === 0) return;
    beatingNow = true;
    try {
      const data = { workerId: deps.workerId };
      const keys = [...beating.keys()].map((runId) => `run:${runId}`);
      if (!store.beatMany) {
        await Promise.all(
          keys.map((key) => store.beat(key, deps.heartbeatTtlMs, data).catch(deps.report)),
        );
        return;
      }
      for (let i = 0; i < keys.length; i += MAX_BATCH) {
        const batch = keys.slice(i, i + MAX_BATCH).map((key) => ({ key, data }));
        await store.beatMany(batch, deps.heartbeatTtlMs).catch(deps.report);
      }
    } finally {
      beatingNow = false;
    }
  }

  /**
   * Per message: true renewed, a string saying why when its lease was lost, undefined unknown
   * (the error is reported).
   */
  async function extendAll(messages: ClaimedMessage[]): Promise<Array<true | string | undefined>> {
    const { queue, leaseMs } = deps;
    if (!queue.extendMany) {
      return Promise.all(
        messages.map((message) =>
          queue.extend(message, leaseMs).then(
            () => true as const,
            (error: unknown) => {
              if (LeaseLostError.isInstance(error)) return error.message;
              deps.report(error);
              return undefined;
            },
          ),
        ),
      );
    }
    const lostWhy = (message: ClaimedMessage) =>
      `[loopwork:worker] message ${message.id} of "${message.queue}": its lease was lost (extendMany on the ${queue.adapter} queue answered false)`;
    const answers: Array<true | string | undefined> = [];
    for (let i = 0; i < messages.length; i += MAX_BATCH) {
      const batch = messages.slice(i, i + MAX_BATCH);
      try {
        const extended = await queue.extendMany(batch, leaseMs);
        if (!Array.isArray(extended) || extended.length !== batch.length) {
          throw new Error(
            `[loopwork:worker] the ${queue.adapter} queue's extendMany answered ${describe(extended)} for ${batch.length} message(s), not one boolean each: a bug in the queue adapter`,
          );
        }
        for (const [j, answer] of extended.entries()) {
          answers.push(answer === true ? true : answer === false ? lostWhy(batch[j]!) : undefined);
        }
      } catch (error) {
        deps.report(error);
        for (const _ of batch) answers.push(undefined);
      }
    }
    return answers;
  }

  /**
   * Per run: its standing, undefined when there is no such run, null when unknown (the error is
   * reported). One `getStandings` per batch when the store has it, else a `get` each.
   */
  async function standingsOf(runIds: string[]): Promise<Array<RunStanding | undefined | null>> {
    const { runs } = deps;
    const unknown = (error: unknown) => {
      deps.report(error);
      return null;
    };
    if (!runs.getStandings) {
      return Promise.all(runIds.map((runId) => runs.get(runId).catch(unknown)));
    }
    const standings: Array<RunStanding | undefined | null> = [];
    for (let i = 0; i < runIds.length; i += MAX_BATCH) {
      const batch = runIds.slice(i, i + MAX_BATCH);
      try {
        const answered = await runs.getStandings(batch);
        if (!Array.isArray(answered) || answered.length !== batch.length) {
          throw new Error(
            `[loopwork:worker] the run store's getStandings answered ${describe(answered)} for ${batch.length} run(s), not one standing each: a bug in the run store adapter`,
          );
        }
        standings.push(...answered);
      } catch (error) {
        deps.report(error);
        for (const _ of batch) standings.push(null);
      }
    }
    return standings;
  }

  async function renew(): Promise<void> {
    if (renewing || stopped || held.size === 0) return;
    renewing = true;
    try {
      const holds = [...held];
      const extended = await extendAll(holds.map((hold) => hold.message));
      const renewed = holds.filter((hold, i) => {
        const answer = extended[i];
        if (typeof answer === 'string' && held.has(hold)) hold.lost(answer);
        return answer === true;
      });
      // Once per renewal: a cancel request, or a run that moved on without the attempt.
      const standings = await standingsOf(renewed.map((hold) => hold.runId));
      for (const [i, hold] of renewed.entries()) {
        const now = standings[i];
        if (now === null || !held.has(hold)) continue;
        if (now?.cancel !== undefined && now.attempt === hold.attempt)
          hold.cancelled(`cancelled: ${now.cancel.reason}`);
        else if (now?.status !== 'running' || now.attempt !== hold.attempt)
          hold.superseded(`run "${hold.runId}" moved on without attempt ${hold.attempt}`);
      }
    } finally {
      renewing = false;
    }
  }

  return {
    /** Renews `hold`'s lease until the returned function is called. */
    hold(hold: LeaseHold): () => void {
      held.add(hold);
      schedule ??= deps.due.every(deps.leaseMs / 3, () => void renew().catch(deps.report));
      return () => {
        held.delete(hold);
        if (held.size === 0) {
          schedule?.cancel();
          schedule = undefined;
        }
      };
    },
    /**
     * Beats run `runId`'s heartbeat every `heartbeatTtlMs / 3` until the returned function is
     * called (the attempt beats once itself when it starts).
     */
    beat(runId: string): () => void {
      const release = beating.hold(runId);
      beatSchedule ??= deps.due.every(
        deps.heartbeatTtlMs / 3,
        () => void beatAll().catch(deps.report),
      );
      return () => {
        release();
        if (beating.size === 0) {
          beatSchedule?.cancel();
          beatSchedule = undefined;
        }
      };
    },
    /** Renews and beats nothing more (an abandoned worker, as a dead process would). */
    stop(): void {
      stopped = true;
      schedule?.cancel();
      schedule = undefined;
      beatSchedule?.cancel();
      beatSchedule = undefined;
    },
  };
}

export type Renewals = ReturnType<typeof renewals>;

function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return value === null ? 'null' : typeof value;
}
