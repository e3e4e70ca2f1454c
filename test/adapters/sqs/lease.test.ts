// The lease arithmetic of the SQS adapter, alone: whole-second visibility, the 12-hour cap,
// the 900-second message delay, and when a long poll's lease must be pinned.
import { InvalidOptionError } from 'loopwork';
import { describe, expect, it } from 'vitest';
import {
  capLeftSeconds,
  delaySeconds,
  planExtension,
  receiveExpiry,
  releaseSeconds,
  visibilitySeconds,
} from '../../../adapters/sqs/lease';

const HOUR = 3_600_000;
const now = 1_800_000_000_000;

function refusal(fn: () => unknown): InvalidOptionError {
  try {
    fn();
  } catch (error) {
    if (InvalidOptionError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected an InvalidOptionError');
}

describe('visibilitySeconds: leases in whole seconds', () => {
  it('rounds up, so a lease never ends before it was asked to', () => {
    expect([1, 999, 1_000, 1_001, 1_500, 60_000].map((ms) => visibilitySeconds(ms))).toEqual([
      1, 1, 1, 2, 2, 60,
    ]);
  });

  it('refuses a lease past the 12-hour limit, and a non-positive one, naming the option', () => {
    expect(visibilitySeconds(12 * HOUR)).toBe(43_200);
    expect(refusal(() => visibilitySeconds(12 * HOUR + 1)).message).toMatch(
      /^\[loopwork:sqs\] leaseMs of 43200001 ms is longer than SQS's 12-hour visibility limit/,
    );
    expect(refusal(() => visibilitySeconds(0)).message).toMatch(
      /leaseMs must be a positive number/,
    );
    expect(refusal(() => visibilitySeconds(Number.NaN)).message).toMatch(/leaseMs/);
  });
});

describe('planExtension: the 12-hour cap counted from the receive', () => {
  const lease = (receivedAgoMs: number, expiresInMs: number) => ({
    receivedAt: now - receivedAgoMs,
    expiresAt: now + expiresInMs,
  });

  it('extends by the asked lease while it fits under the cap', () => {
    expect(planExtension(lease(HOUR, 20_000), now, 60_000)).toEqual({ ok: true, seconds: 60 });
    expect(planExtension(lease(11 * HOUR, 20_000), now, HOUR)).toEqual({
      ok: true,
      seconds: 3_600,
    });
  });

  it('an extension that ends exactly at the cap is granted', () => {
    expect(capLeftSeconds(lease(12 * HOUR - 60_000, 1_000), now)).toBe(60);
    expect(planExtension(lease(12 * HOUR - 60_000, 1_000), now, 60_000)).toEqual({
      ok: true,
      seconds: 60,
    });
  });

  it('an extension past the cap is refused, not shortened, while the current lease still holds', () => {
    const plan = planExtension(lease(12 * HOUR - 30_000, 15_000), now, 60_000);
    expect(plan).toMatchObject({ ok: false, reason: 'cap' });
    expect(plan.ok === false && plan.message).toMatch(
      /at most 12 hours after it is received and only 30 s are left, fewer than the 60 s asked; the current lease holds for 15000 ms more/,
    );
  });

  it('at or past the cap nothing is left', () => {
    expect(capLeftSeconds(lease(12 * HOUR, 1_000), now)).toBe(0);
    expect(capLeftSeconds(lease(13 * HOUR, 1_000), now)).toBe(0);
    expect(planExtension(lease(12 * HOUR, 1_000), now, 1_000)).toMatchObject({
      ok: false,
      reason: 'cap',
    });
  });

  it('a lease that already ran out cannot be extended', () => {
    expect(planExtension(lease(10_000, -1), now, 60_000)).toMatchObject({
      ok: false,
      reason: 'expired',
    });
    expect(planExtension(lease(10_000, 0), now, 60_000)).toMatchObject({
      ok: false,
      reason: 'expired',
    });
  });
});

describe('releaseSeconds: a release delay is clamped by the cap', () => {
  it('rounds up, and comes back earlier than asked only when the cap leaves less', () => {
    const fresh = { receivedAt: now - 1_000, expiresAt: now + 10_000 };
    expect([0, 1, 1_000, 1_001, 90_000].map((ms) => releaseSeconds(fresh, now, ms))).toEqual([
      0, 1, 1, 2, 90,
    ]);
    const late = { receivedAt: now - (12 * HOUR - 30_000), expiresAt: now + 10_000 };
    expect(releaseSeconds(late, now, 90_000)).toBe(30);
    expect(refusal(() => releaseSeconds(fresh, now, -1)).message).toMatch(/delayMs/);
  });
});

describe('delaySeconds: DelaySeconds at most 900', () => {
  it('rounds up to whole seconds', () => {
    expect([0, 1, 1_500, 900_000].map(delaySeconds)).toEqual([0, 1, 2, 900]);
  });

  it('refuses a longer delay, naming the option and the limit', () => {
    expect(refusal(() => delaySeconds(900_001)).message).toMatch(
      /^\[loopwork:sqs\] delayMs of 900001 ms is longer than SQS's longest message delay \(DelaySeconds 900, 15 minutes\)/,
    );
  });
});

describe('receiveExpiry: when a long poll must pin its lease', () => {
  it('a quick answer: the lease ends the lease after the request was sent', () => {
    expect(receiveExpiry(now, now + 40, 60)).toBe(now + 60_000);
    expect(receiveExpiry(now, now + 100, 1)).toBe(now + 1_000);
  });

  it('an answer after a wait long against the lease: unknown, so the caller pins it', () => {
    expect(receiveExpiry(now, now + 101, 1)).toBeUndefined();
    expect(receiveExpiry(now, now + 1_001, 60)).toBeUndefined();
  });
});
