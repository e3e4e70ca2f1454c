import type {
  RunError,
  RunRecord,
  RunRecordChanges,
  RunRecordStatus,
  RunTransition,
} from '../store/run-store';

/**
 * The run lifecycle, decided in one place. Every other part (dispatcher, worker, watchdog,
 * dead-letter paths, cancel) asks these pure functions what to write, then writes it as one
 * compare-and-set transition fenced by the `version` (and `attempt`) it saw.
 *
 * ```text
 *  dispatch ─▶ queued ──start──▶ running ──▶ completed | max_turns | budget_exceeded | waiting_input
 *               ▲  │               │  │  └─▶ failed | timed_out | cancelled | dead_lettered
 *               │  │               │  └──take over (its lease ran out: attempt + 1)──▶ running
 *               │  └─▶ cancelled | dead_lettered | failed
 *               └──── retry / released by a shutdown / requeued by the watchdog ─┘
 * ```
 */

/** Statuses a run ends in; a final run never changes again. */
export const FINAL_STATUSES = [
  'completed',
  'max_turns',
  'budget_exceeded',
  'waiting_input',
  'failed',
  'timed_out',
  'cancelled',
  'dead_lettered',
] as const satisfies readonly RunRecordStatus[];

/** A status a run ends in. */
export type FinalStatus = (typeof FINAL_STATUSES)[number];

/** Where each status may go; the final statuses go nowhere. */
export const TRANSITIONS: Readonly<Record<RunRecordStatus, readonly RunRecordStatus[]>> = {
  queued: ['queued', 'running', 'cancelled', 'dead_lettered', 'failed'],
  running: ['running', 'queued', ...FINAL_STATUSES],
  completed: [],
  max_turns: [],
  budget_exceeded: [],
  waiting_input: [],
  failed: [],
  timed_out: [],
  cancelled: [],
  dead_lettered: [],
};

/** True for the statuses a run ends in. */
export function isFinal(status: RunRecordStatus): status is FinalStatus {
  return TRANSITIONS[status].length === 0;
}

/** The give-up policy: whether a run whose attempt ended unfinished may start another. */
export function mayRetry(record: RunRecord): boolean {
  return record.attempt < record.maxAttempts && record.cancel === undefined;
}

/** One claimed message of a run, as the worker sees it. */
export interface Delivery {
  runId: string;
  messageId: string;
  workerId: string;
  now: number;
}

/** What to do with a delivery: the one answer {@link classifyDelivery} gives. */
export type DeliveryVerdict =
  /** Start the run (or take it over from an attempt whose lease ran out) with this write. */
  | { kind: 'start'; transition: RunTransition }
  /** A leftover or a duplicate: settle the message, touch nothing. */
  | { kind: 'drop'; why: string }
  /** End the run without running it, with this write. */
  | { kind: 'end'; status: FinalStatus; error: RunError; transition: RunTransition }
  /** No run to run: dead-letter the message. */
  | { kind: 'dead_letter'; error: RunError };

/** Decides what a delivered message of a run means, from the run's record. */
export function classifyDelivery(
  record: RunRecord | undefined,
  delivery: Delivery,
): DeliveryVerdict {
  if (!record)
    return {
      kind: 'dead_letter',
      error: { code: 'no_run_record', message: `no run record for run "${delivery.runId}"` },
    };
  if (isFinal(record.status))
    return { kind: 'drop', why: `the run already ended ${record.status}` };
  if (record.status === 'running' && record.messageId !== delivery.messageId)
    return { kind: 'drop', why: 'a duplicate: the run is running from another message' };
  // Queued, or running from this very message: its previous holder lost the lease (died).
  if (record.cancel !== undefined) {
    return end(
      record,
      'cancelled',
      { code: 'cancelled', message: record.cancel.reason },
      delivery.now,
    );
  }
  if (record.attempt >= record.maxAttempts) {
    const error = {
      code: 'worker_lost',
      message: `attempt ${record.attempt} of ${record.maxAttempts} stopped without finishing (its worker stopped renewing the lease: did it die?)`,
    };
    return end(record, 'failed', error, delivery.now);
  }
  return {
    kind: 'start',
    transition: {
      from: [record.status],
      to: 'running',
      version: record.version,
      set: {
        attempt: record.attempt + 1,
        workerId: delivery.workerId,
        messageId: delivery.messageId,
        startedAt: delivery.now,
      },
      unset: ['availableAt'],
    },
  };
}

/**
 * The start of a run as the dispatcher creates it (queued at version 1, attempt 0), which the
 * worker tries before reading the record: most deliveries are a run's first, and the read is a
 * round trip. Fenced by `version` and `attempt`, it applies to such a record only; whether that
 * record was one {@link classifyDelivery} starts is then {@link confirmsFreshStart}'s answer.
 */
export function freshStart(delivery: Delivery): RunTransition {
  return {
    from: ['queued'],
    to: 'running',
    version: 1,
    attempt: 0,
    set: {
      attempt: 1,
      workerId: delivery.workerId,
      messageId: delivery.messageId,
      startedAt: delivery.now,
    },
    unset: ['availableAt'],
  };
}

/**
 * Whether {@link classifyDelivery} would have started the record that {@link freshStart} wrote
 * (`written`), asked about it as it was before: the write changed none of the fields it reads
 * but those the fence fixed (status queued, version 1, attempt 0). Then the two writes are the
 * same. Otherwise (a record created cancelled, or with no attempts) the run is now running from
 * this message, and `classifyDelivery(written)` ends it as it would a takeover.
 */
export function confirmsFreshStart(written: RunRecord, delivery: Delivery): boolean {
  const before: RunRecord = { ...written, status: 'queued', version: 1, attempt: 0 };
  return classifyDelivery(before, delivery).kind === 'start';
}

function end(
  record: RunRecord,
  status: FinalStatus,
  error: RunError,
  now: number,
): Extract<DeliveryVerdict, { kind: 'end' }> {
  return {
    kind: 'end',
    status,
    error,
    transition: {
      from: [record.status],
      to: status,
      version: record.version,
      set: { error, finishedAt: now },
    },
  };
}

/** How one attempt ended, as the worker saw it. */
export type AttemptOutcome =
  /** The handler returned: the run ends with this status and result fields. */
  | {
      kind: 'returned';
      status: Exclude<FinalStatus, 'cancelled' | 'dead_lettered' | 'failed'>;
      result: RunRecordChanges;
    }
  /** The handler failed (threw, or returned a failure) or ran out of time. */
  | {
      kind: 'failed';
      error: RunError;
      retryable: boolean;
      timedOut: boolean;
      result?: RunRecordChanges;
    }
  /** The attempt stopped for a cancel request. */
  | { kind: 'cancelled' }
  /** A graceful shutdown handed the run back unfinished. */
  | { kind: 'released' };

/** What the worker writes after an attempt: {@link settleAttempt}'s answer. */
export type Settlement =
  /** The run moved on without this attempt (taken over, requeued, cancelled): write nothing. */
  | { kind: 'superseded' }
  /** The run ends: write this, then its `task-finished` event, then ack. */
  | { kind: 'final'; status: FinalStatus; transition: RunTransition }
  /** Another attempt after `delayMs`: write this, then release the message with the delay. */
  | { kind: 'retry'; delayMs: number; error: RunError; transition: RunTransition }
  /** Handed back by a shutdown without using up the attempt: write this, then release at once. */
  | { kind: 'release'; transition: RunTransition };

/**
 * Decides how a run goes on after attempt `attempt` ended with `outcome`, from the record as it
 * is now. `retryDelayMs(n)` is the task's backoff after failed attempt n.
 */
export function settleAttempt(
  record: RunRecord | undefined,
  attempt: number,
  outcome: AttemptOutcome,
  retryDelayMs: (attempt: number) => number,
  now: number,
): Settlement {
  if (record?.status !== 'running' || record.attempt !== attempt) return { kind: 'superseded' };
  const write = (
    to: RunRecordStatus,
    set: RunRecordChanges,
    unset: RunTransition['unset'] = [],
  ) => ({
    from: ['running'] as const,
    to,
    version: record.version,
    attempt,
    set,
    unset,
  });
  const final = (status: FinalStatus, set: RunRecordChanges, unset?: RunTransition['unset']) => ({
    kind: 'final' as const,
    status,
    transition: write(status, { ...set, finishedAt: now }, unset),
  });
  switch (outcome.kind) {
    case 'returned':
      // The work is done; a cancel request that arrived too late does not undo it.
      return final(outcome.status, outcome.result, ['error']);
    case 'cancelled':
      return final('cancelled', {
        error: { code: 'cancelled', message: record.cancel?.reason ?? 'cancelled' },
      });
    case 'released':
      return {
        kind: 'release',
        transition: write('queued', { maxAttempts: record.maxAttempts + 1 }, ['messageId']),
      };
    case 'failed': {
      const result = outcome.result ?? {};
      if (record.cancel !== undefined)
        return final('cancelled', {
          ...result,
          error: { code: 'cancelled', message: record.cancel.reason },
        });
      if (!outcome.retryable || !mayRetry(record))
        return final(outcome.timedOut ? 'timed_out' : 'failed', {
          ...result,
          error: outcome.error,
        });
      const delayMs = Math.max(0, retryDelayMs(attempt));
      return {
        kind: 'retry',
        delayMs,
        error: outcome.error,
        transition: write(
          'queued',
          { ...result, error: outcome.error, availableAt: now + delayMs },
          ['messageId'],
        ),
      };
    }
  }
}

/** What the watchdog does with a run it found stale: {@link judgeStuck}'s answer. */
export type StuckVerdict =
  /** Leave it (alive after all, or not due yet). */
  | { kind: 'leave' }
  /** Enqueue it again, after writing this (which touches it, so the next pass waits again). */
  | { kind: 'requeue'; delayMs: number; transition: RunTransition; error?: RunError }
  /** End it. */
  | { kind: 'final'; status: FinalStatus; error: RunError; transition: RunTransition };

/**
 * Decides what to do with a run that has not been written for a while: a queued one whose
 * message may be missing (a dispatcher died between recording and enqueueing, or the queue lost
 * it), or a running one whose worker stopped beating (and whose message is gone: a live message
 * would have been redelivered and taken over first).
 */
export function judgeStuck(
  record: RunRecord,
  heartbeatAlive: boolean,
  reason: string,
  now: number,
): StuckVerdict {
  if (record.status === 'queued') {
    const delayMs = Math.max(0, (record.availableAt ?? 0) - now);
    return {
      kind: 'requeue',
      delayMs,
      transition: { from: ['queued'], to: 'queued', version: record.version },
    };
  }
  if (record.status !== 'running' || heartbeatAlive) return { kind: 'leave' };
  const error = { code: 'worker_lost', message: reason };
  const from = ['running'] as const;
  if (record.cancel !== undefined) {
    const cancelled = { code: 'cancelled', message: record.cancel.reason };
    return {
      kind: 'final',
      status: 'cancelled',
      error: cancelled,
      transition: {
        from,
        to: 'cancelled',
        version: record.version,
        set: { error: cancelled, finishedAt: now },
      },
    };
  }
  if (!mayRetry(record)) {
    return {
      kind: 'final',
      status: 'failed',
      error,
      transition: { from, to: 'failed', version: record.version, set: { error, finishedAt: now } },
    };
  }
  return {
    kind: 'requeue',
    delayMs: 0,
    error,
    transition: {
      from,
      to: 'queued',
      version: record.version,
      set: { error },
      unset: ['messageId'],
    },
  };
}

/** What a cancel request does: {@link judgeCancel}'s answer. */
export type CancelVerdict =
  /** Nothing to do: the run already ended (or a cancel is already requested). */
  | { kind: 'none' }
  /** A queued run ends `cancelled` at once with this write. */
  | { kind: 'final'; error: RunError; transition: RunTransition }
  /** A running run is marked; its worker aborts it at its next lease renewal. */
  | { kind: 'request'; transition: RunTransition };

/** Decides what cancelling a run means for its record. */
export function judgeCancel(record: RunRecord, reason: string, now: number): CancelVerdict {
  if (isFinal(record.status) || record.cancel !== undefined) return { kind: 'none' };
  if (record.status === 'queued') {
    const error = { code: 'cancelled', message: reason };
    return {
      kind: 'final',
      error,
      transition: {
        from: ['queued'],
        to: 'cancelled',
        version: record.version,
        set: { error, finishedAt: now },
      },
    };
  }
  return {
    kind: 'request',
    transition: {
      from: ['running'],
      to: 'running',
      version: record.version,
      set: { cancel: { reason, requestedAt: now } },
    },
  };
}
