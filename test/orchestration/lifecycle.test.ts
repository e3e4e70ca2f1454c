// The run lifecycle's decisions, one by one: pure functions from a record to a write.
import {
  type AttemptOutcome,
  classifyDelivery,
  FINAL_STATUSES,
  isFinal,
  judgeCancel,
  judgeStuck,
  type RunRecord,
  type RunRecordStatus,
  settleAttempt,
  TRANSITIONS,
} from 'loopwork';
import { describe, expect, it } from 'vitest';

const NOW = 1_000_000;
const run = (fields: Partial<RunRecord> = {}): RunRecord => ({
  runId: 'r1',
  taskType: 't',
  status: 'queued',
  payload: {},
  attempt: 0,
  maxAttempts: 3,
  version: 7,
  queuedAt: 0,
  updatedAt: 0,
  ...fields,
});
const delivery = { runId: 'r1', messageId: 'm1', workerId: 'w1', now: NOW };
const backoff = (attempt: number) => attempt * 100;
const boom = { code: 'handler_error', message: 'boom' };
const failed = (retryable: boolean, timedOut = false): AttemptOutcome => ({
  kind: 'failed',
  error: boom,
  retryable,
  timedOut,
});

describe('statuses and transitions', () => {
  it('final statuses go nowhere; open ones only where the table says', () => {
    for (const status of FINAL_STATUSES) {
      expect(isFinal(status)).toBe(true);
      expect(TRANSITIONS[status]).toEqual([]);
    }
    expect(isFinal('queued')).toBe(false);
    expect(isFinal('running')).toBe(false);
    const all = Object.keys(TRANSITIONS) as RunRecordStatus[];
    expect(all.filter((status) => !isFinal(status)).sort()).toEqual(['queued', 'running']);
    expect(TRANSITIONS.queued).not.toContain('completed'); // a run is done only after it ran
  });

  it('every write a decision makes is a legal transition from the status it names', () => {
    const writes = [
      classifyDelivery(run(), delivery),
      classifyDelivery(run({ status: 'running', messageId: 'm1', attempt: 1 }), delivery),
      classifyDelivery(run({ status: 'running', messageId: 'm1', attempt: 3 }), delivery),
      classifyDelivery(
        run({ status: 'queued', cancel: { reason: 'x', requestedAt: 0 } }),
        delivery,
      ),
      settleAttempt(run({ status: 'running', attempt: 1 }), 1, failed(true), backoff, NOW),
      settleAttempt(run({ status: 'running', attempt: 3 }), 3, failed(true), backoff, NOW),
      settleAttempt(run({ status: 'running', attempt: 1 }), 1, { kind: 'released' }, backoff, NOW),
      settleAttempt(run({ status: 'running', attempt: 1 }), 1, { kind: 'cancelled' }, backoff, NOW),
      judgeStuck(run({ status: 'running', attempt: 1 }), false, 'gone', NOW),
      judgeStuck(run({ status: 'running', attempt: 3 }), false, 'gone', NOW),
      judgeStuck(run(), false, 'late', NOW),
      judgeCancel(run(), 'stop', NOW),
      judgeCancel(run({ status: 'running', attempt: 1 }), 'stop', NOW),
    ];
    for (const decision of writes) {
      if (!('transition' in decision)) continue;
      const { from, to, version } = decision.transition;
      for (const status of from) expect(TRANSITIONS[status], `${status} → ${to}`).toContain(to);
      expect(version, 'every write is fenced by the version it saw').toBe(7);
    }
  });
});

describe('classifyDelivery', () => {
  it('starts a queued run as its next attempt, recording who holds it with which message', () => {
    const verdict = classifyDelivery(run({ attempt: 1, availableAt: NOW - 5 }), delivery);
    expect(verdict).toEqual({
      kind: 'start',
      transition: {
        from: ['queued'],
        to: 'running',
        version: 7,
        set: { attempt: 2, workerId: 'w1', messageId: 'm1', startedAt: NOW },
        unset: ['availableAt'],
      },
    });
  });

  it('takes over a run running from this very message (its holder lost the lease), while attempts remain', () => {
    const verdict = classifyDelivery(
      run({ status: 'running', messageId: 'm1', attempt: 2 }),
      delivery,
    );
    expect(verdict.kind).toBe('start');
    expect(verdict.kind === 'start' && verdict.transition.set?.attempt).toBe(3);
  });

  it('fails a run whose every attempt died with its worker', () => {
    const verdict = classifyDelivery(
      run({ status: 'running', messageId: 'm1', attempt: 3 }),
      delivery,
    );
    expect(verdict).toMatchObject({
      kind: 'end',
      status: 'failed',
      error: { code: 'worker_lost' },
    });
  });

  it('drops a duplicate of a run running from another message, and any delivery of a final run', () => {
    expect(classifyDelivery(run({ status: 'running', messageId: 'other' }), delivery).kind).toBe(
      'drop',
    );
    for (const status of FINAL_STATUSES)
      expect(classifyDelivery(run({ status }), delivery).kind, status).toBe('drop');
  });

  it('ends a run with a cancel request instead of running it; dead-letters a message with no run', () => {
    const cancel = { reason: 'user left', requestedAt: 0 };
    expect(
      classifyDelivery(run({ status: 'running', messageId: 'm1', attempt: 1, cancel }), delivery),
    ).toMatchObject({
      kind: 'end',
      status: 'cancelled',
      error: { code: 'cancelled', message: 'user left' },
    });
    expect(classifyDelivery(undefined, delivery)).toEqual({
      kind: 'dead_letter',
      error: { code: 'no_run_record', message: 'no run record for run "r1"' },
    });
  });
});

describe('settleAttempt', () => {
  const running = run({ status: 'running', attempt: 1, messageId: 'm1' });

  it('a returned attempt ends the run with its status and result, clearing an earlier attempt’s error', () => {
    const settled = settleAttempt(
      { ...running, error: boom },
      1,
      { kind: 'returned', status: 'max_turns', result: { output: 'partial', costUsd: 0.5 } },
      backoff,
      NOW,
    );
    expect(settled).toEqual({
      kind: 'final',
      status: 'max_turns',
      transition: {
        from: ['running'],
        to: 'max_turns',
        version: 7,
        attempt: 1,
        set: { output: 'partial', costUsd: 0.5, finishedAt: NOW },
        unset: ['error'],
      },
    });
  });

  it('a retryable failure with attempts left goes back to the queue after the backoff', () => {
    const settled = settleAttempt(running, 1, failed(true), backoff, NOW);
    expect(settled).toMatchObject({
      kind: 'retry',
      delayMs: 100,
      transition: {
        to: 'queued',
        set: { error: boom, availableAt: NOW + 100 },
        unset: ['messageId'],
      },
    });
  });

  it('a permanent failure, or the last attempt, ends the run: failed, or timed_out when time ran out', () => {
    expect(settleAttempt(running, 1, failed(false), backoff, NOW)).toMatchObject({
      kind: 'final',
      status: 'failed',
    });
    const last = { ...running, attempt: 3 };
    expect(settleAttempt(last, 3, failed(true), backoff, NOW)).toMatchObject({ status: 'failed' });
    expect(settleAttempt(last, 3, failed(true, true), backoff, NOW)).toMatchObject({
      status: 'timed_out',
    });
  });

  it('a cancel request turns any unfinished attempt into cancelled; a shutdown gives the attempt back', () => {
    const cancelled = { ...running, cancel: { reason: 'stop', requestedAt: 0 } };
    expect(settleAttempt(cancelled, 1, failed(true), backoff, NOW)).toMatchObject({
      kind: 'final',
      status: 'cancelled',
      transition: { set: { error: { code: 'cancelled', message: 'stop' } } },
    });
    expect(settleAttempt(running, 1, { kind: 'released' }, backoff, NOW)).toMatchObject({
      kind: 'release',
      transition: { to: 'queued', set: { maxAttempts: 4 } },
    });
  });

  it('writes nothing for an attempt the run moved on from', () => {
    for (const record of [
      undefined,
      { ...running, attempt: 2 },
      { ...running, status: 'queued' as const },
      { ...running, status: 'completed' as const },
    ])
      expect(settleAttempt(record, 1, failed(true), backoff, NOW)).toEqual({ kind: 'superseded' });
  });
});

describe('judgeStuck and judgeCancel', () => {
  it('requeues a queued run (keeping what is left of its delay), leaves a live running one alone', () => {
    expect(judgeStuck(run({ availableAt: NOW + 500 }), false, 'late', NOW)).toMatchObject({
      kind: 'requeue',
      delayMs: 500,
      transition: { from: ['queued'], to: 'queued' },
    });
    expect(judgeStuck(run({ status: 'running' }), true, 'gone', NOW)).toEqual({ kind: 'leave' });
  });

  it('a running run with no heartbeat: requeued within its attempts, else failed; cancelled when asked', () => {
    expect(judgeStuck(run({ status: 'running', attempt: 1 }), false, 'gone', NOW)).toMatchObject({
      kind: 'requeue',
      error: { code: 'worker_lost', message: 'gone' },
    });
    expect(judgeStuck(run({ status: 'running', attempt: 3 }), false, 'gone', NOW)).toMatchObject({
      kind: 'final',
      status: 'failed',
    });
    const cancel = { reason: 'stop', requestedAt: 0 };
    expect(judgeStuck(run({ status: 'running', cancel }), false, 'gone', NOW)).toMatchObject({
      kind: 'final',
      status: 'cancelled',
    });
  });

  it('cancel: a queued run ends now, a running one is marked once, a final one is left', () => {
    expect(judgeCancel(run(), 'stop', NOW)).toMatchObject({
      kind: 'final',
      transition: { to: 'cancelled', set: { error: { code: 'cancelled', message: 'stop' } } },
    });
    expect(judgeCancel(run({ status: 'running' }), 'stop', NOW)).toMatchObject({
      kind: 'request',
      transition: { to: 'running', set: { cancel: { reason: 'stop', requestedAt: NOW } } },
    });
    const asked = run({ status: 'running', cancel: { reason: 'stop', requestedAt: 0 } });
    expect(judgeCancel(asked, 'again', NOW)).toEqual({ kind: 'none' });
    expect(judgeCancel(run({ status: 'completed' }), 'stop', NOW)).toEqual({ kind: 'none' });
  });
});
