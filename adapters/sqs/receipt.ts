import { type ClaimedMessage, InvalidOptionError } from 'loopwork';

/** What `ClaimedMessage.receipt` holds: enough to settle the delivery from any adapter instance. */
export interface Receipt {
  /** Queue URL. */
  u: string;
  /** SQS receipt handle. */
  h: string;
  /** Lease bounds (see `Lease`): received at, expires at; `x` is null when the adapter does not time the lease. */
  r: number;
  x: number | null;
  /** Blob key of an offloaded body. */
  b?: string;
}

export function receiptOf(message: ClaimedMessage): Receipt {
  try {
    const receipt = JSON.parse(message.receipt) as Receipt;
    if (typeof receipt.u === 'string' && typeof receipt.h === 'string') return receipt;
  } catch {
    // not JSON: not ours
  }
  throw new InvalidOptionError(
    `[loopwork:sqs] message ${message.id}: the receipt is not from the sqs adapter`,
  );
}
