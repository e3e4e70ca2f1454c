import { LeaseLostError } from '../errors';
import type { Scheduled } from './due-queue';
import type { ClaimedMessage } from './queue';
import type { WorkerDeps } from './worker-deps';

/** Messages in one `extendMany` call at most. */
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
 * Renews the leases of every running attempt of a worker on one schedule: every `leaseMs / 3`,
 * one `extendMany` per batch of held messages when the queue has it (one round trip, and one
 * script on Redis, instead of one per message), else an `extend` each, all sent at once. Then each
 * renewed attempt's run is read once, for a cancel request or a run that moved on without it.
 * A message held for less than the interval is renewed on the next round, so no lease goes
 * longer than `leaseMs / 3` unrenewed, as with a timer per attempt. A round still in flight when
 * the next is due makes the next skip (a slow queue is not sent a second wave).
 */
export function leaseRenewals(
  deps: Pick<WorkerDeps, 'queue' | 'runs' | 'leaseMs' | 'report' | 'due'>,
) {
  const held = new Set<LeaseHold>();
  let schedule: Scheduled | undefined;
  let renewing = false;
  let stopped = false;

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
      await Promise.all(
        renewed.map(async (hold) => {
          const now = await deps.runs.get(hold.runId).catch((error: unknown) => {
            deps.report(error);
            return null;
          });
          if (now === null || !held.has(hold)) return;
          if (now?.cancel !== undefined && now.attempt === hold.attempt)
            hold.cancelled(`cancelled: ${now.cancel.reason}`);
          else if (now?.status !== 'running' || now.attempt !== hold.attempt)
            hold.superseded(`run "${hold.runId}" moved on without attempt ${hold.attempt}`);
        }),
      );
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
    /** Renews nothing more (an abandoned worker, as a dead process would). */
    stop(): void {
      stopped = true;
      schedule?.cancel();
      schedule = undefined;
    },
  };
}

export type LeaseRenewals = ReturnType<typeof leaseRenewals>;

function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return value === null ? 'null' : typeof value;
}
