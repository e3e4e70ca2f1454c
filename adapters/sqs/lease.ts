import { InvalidOptionError } from 'loopwork';

/** SQS's ceiling on a message's visibility: 12 hours, counted from the receive. */
export const MAX_VISIBILITY_SECONDS = 43_200;
/** SQS's ceiling on a per-message delay (`DelaySeconds`): 15 minutes. */
export const MAX_DELAY_SECONDS = 900;

/**
 * What the adapter knows about one delivery's lease, in epoch milliseconds. Both bounds are
 * pessimistic: `receivedAt` is when the ReceiveMessage request was sent (SQS received the message
 * at that moment or later, so the 12-hour cap computed from it comes no later than SQS's), and
 * `expiresAt` is when SQS makes the message visible again at the earliest.
 */
export interface Lease {
  receivedAt: number;
  expiresAt: number;
}

/**
 * The visibility timeout of a lease of `leaseMs`: SQS counts visibility in whole seconds, so the
 * lease is rounded up (it never ends before the caller asked; it may last up to a second longer).
 */
export function visibilitySeconds(leaseMs: number, option = 'leaseMs'): number {
  if (!Number.isFinite(leaseMs) || leaseMs <= 0) {
    throw new InvalidOptionError(
      `[loopwork:sqs] ${option} must be a positive number, got ${leaseMs}`,
    );
  }
  const seconds = Math.ceil(leaseMs / 1000);
  if (seconds > MAX_VISIBILITY_SECONDS) {
    throw new InvalidOptionError(
      `[loopwork:sqs] ${option} of ${leaseMs} ms is longer than SQS's 12-hour visibility limit (${MAX_VISIBILITY_SECONDS} s)`,
    );
  }
  return seconds;
}

/** Seconds of the 12-hour cap still left at `now` (0 once it is reached). */
export function capLeftSeconds(lease: Lease, now: number): number {
  return Math.max(0, Math.floor((lease.receivedAt + MAX_VISIBILITY_SECONDS * 1000 - now) / 1000));
}

/** How an extension of a lease at `now` to `leaseMs` from now goes. */
export type ExtensionPlan =
  | { ok: true; seconds: number }
  | { ok: false; reason: 'expired' | 'cap'; message: string };

/**
 * Plans `extend(message, leaseMs)` at `now`. SQS rejects a visibility that would end more than
 * 12 hours after the receive, and it does not shorten the request to what is left: neither does
 * this. An extension that does not fit is refused as a lost lease while the current lease still
 * holds, so the worker aborts the task (which checkpoints) before SQS makes the message visible
 * again, and no second consumer ever overlaps it. The next delivery starts a fresh 12 hours and
 * continues from the checkpoint; each such slice counts as a delivery against `maxAttempts`.
 */
export function planExtension(lease: Lease, now: number, leaseMs: number): ExtensionPlan {
  if (now >= lease.expiresAt) {
    return {
      ok: false,
      reason: 'expired',
      message: `its lease ran out ${now - lease.expiresAt} ms ago (it may be delivered to another consumer)`,
    };
  }
  const seconds = visibilitySeconds(leaseMs);
  const left = capLeftSeconds(lease, now);
  if (seconds > left) {
    return {
      ok: false,
      reason: 'cap',
      message: `SQS keeps a message invisible for at most 12 hours after it is received and only ${left} s are left, fewer than the ${seconds} s asked; the current lease holds for ${Math.max(0, lease.expiresAt - now)} ms more, then the message is delivered again`,
    };
  }
  return { ok: true, seconds };
}

/**
 * The visibility timeout that releases a message for another delivery after `delayMs`, in whole
 * seconds rounded up. Near the 12-hour cap SQS cannot hide the message that long any more; the
 * delay is then shortened to what is left (the retry comes earlier than asked, never later).
 */
export function releaseSeconds(lease: Lease, now: number, delayMs: number): number {
  if (!Number.isFinite(delayMs) || delayMs < 0) {
    throw new InvalidOptionError(
      `[loopwork:sqs] delayMs must be a non-negative number, got ${delayMs}`,
    );
  }
  return Math.min(Math.ceil(delayMs / 1000), capLeftSeconds(lease, now));
}

/**
 * The `DelaySeconds` of an enqueue with `delayMs`: rounded up to whole seconds, at most 900.
 * Longer delays are refused rather than shortened or emulated (SQS has no longer message timer).
 */
export function delaySeconds(delayMs: number): number {
  if (!Number.isFinite(delayMs) || delayMs < 0) {
    throw new InvalidOptionError(
      `[loopwork:sqs] delayMs must be a non-negative number, got ${delayMs}`,
    );
  }
  const seconds = Math.ceil(delayMs / 1000);
  if (seconds > MAX_DELAY_SECONDS) {
    throw new InvalidOptionError(
      `[loopwork:sqs] delayMs of ${delayMs} ms is longer than SQS's longest message delay (DelaySeconds ${MAX_DELAY_SECONDS}, 15 minutes); schedule longer delays outside the queue (EventBridge Scheduler, a delayed dispatch)`,
    );
  }
  return seconds;
}

/**
 * When a lease taken by a ReceiveMessage sent at `sentAt` and answered at `answeredAt` ends at
 * the earliest, or undefined when the call took so long (a long poll that waited for the message)
 * that the lease must be pinned with a ChangeMessageVisibility call to know its end precisely.
 */
export function receiveExpiry(
  sentAt: number,
  answeredAt: number,
  seconds: number,
): number | undefined {
  // The receive happened somewhere in [sentAt, answeredAt]; sentAt + seconds is the earliest end.
  // Accept that uncertainty while it is small against the lease.
  const tolerance = Math.min(1000, (seconds * 1000) / 10);
  return answeredAt - sentAt <= tolerance ? sentAt + seconds * 1000 : undefined;
}
