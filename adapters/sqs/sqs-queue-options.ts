import type { SQSClient } from '@aws-sdk/client-sqs';
import { type BlobStore, InvalidOptionError } from 'loopwork';

/** Options of {@link createSqsQueue}. */
export interface SqsQueueOptions {
  /** The SQS client; the adapter never destroys it. */
  client: SQSClient;
  /**
   * FIFO queues (names ending in `.fifo`) or standard ones; one adapter serves one type, because
   * the capabilities differ (FIFO: groups, no per-message delay; standard: delay, no groups).
   * @defaultValue false
   */
  fifo?: boolean;
  /**
   * The URL of the SQS queue behind a loopwork queue name. By default the adapter asks SQS
   * (`GetQueueUrl`) for the name with every character but letters, digits, `-` and `_` replaced by
   * `-` (`loopwork:tasks:summarize` → `loopwork-tasks-summarize`), plus `.fifo` for FIFO queues.
   */
  queueUrl?: (name: string) => string | Promise<string>;
  /**
   * The dead-letter queue of a loopwork queue. @defaultValue the target of the queue's redrive
   * policy (`RedrivePolicy.deadLetterTargetArn`); without either, `deadLetter` is refused.
   */
  deadLetterQueueUrl?: (name: string) => string | Promise<string> | undefined;
  /**
   * A message received this many times is dead-lettered by the adapter, with a reason, instead of
   * delivered again. A queue's redrive policy does the same on the SQS side (`maxReceiveCount`);
   * whichever is lower acts first. @defaultValue unlimited
   */
  maxDeliveries?: number;
  /** Longest single long poll, in seconds (SQS allows 0-20). @defaultValue 20 */
  maxWaitSeconds?: number;
  /**
   * Where bodies too large for the queue (`MaximumMessageSize`, 1 KiB to 1 MiB, 256 KiB on many
   * queues) go; the SQS message then only points at the blob, which is deleted on ack. Without it,
   * such an enqueue is refused.
   */
  blobStore?: BlobStore;
  /** Key prefix of offloaded bodies in `blobStore`. @defaultValue 'loopwork/sqs/' */
  blobPrefix?: string;
  /** Called with errors the adapter survived (a message it could not deliver or dead-letter, an offloaded body it could not delete). @defaultValue console.error */
  onError?: (error: unknown) => void;
}

/** {@link SqsQueueOptions} with the defaults filled in and the numbers checked. */
export interface SqsQueueSettings {
  client: SQSClient;
  fifo: boolean;
  maxDeliveries: number;
  maxWaitSeconds: number;
  readonly blobStore: BlobStore | undefined;
  blobPrefix: string;
  onError: (error: unknown) => void;
}

/** Fills in the defaults of `options`; InvalidOptionError names an option out of range. */
export function resolveSqsQueueOptions(options: SqsQueueOptions): SqsQueueSettings {
  const { client } = options;
  const fifo = options.fifo ?? false;
  const maxDeliveries = options.maxDeliveries ?? Number.POSITIVE_INFINITY;
  const maxWaitSeconds = options.maxWaitSeconds ?? 20;
  const blobPrefix = options.blobPrefix ?? 'loopwork/sqs/';
  const onError = options.onError ?? ((error: unknown) => console.error('[loopwork:sqs]', error));
  if (!(Number.isInteger(maxWaitSeconds) && maxWaitSeconds >= 0 && maxWaitSeconds <= 20)) {
    throw new InvalidOptionError(
      `[loopwork:sqs] maxWaitSeconds must be an integer from 0 to 20, got ${maxWaitSeconds}`,
    );
  }
  if (
    !(
      maxDeliveries === Number.POSITIVE_INFINITY ||
      (Number.isInteger(maxDeliveries) && maxDeliveries > 0)
    )
  ) {
    throw new InvalidOptionError(
      `[loopwork:sqs] maxDeliveries must be a positive integer, got ${maxDeliveries}`,
    );
  }
  return {
    client,
    fifo,
    maxDeliveries,
    maxWaitSeconds,
    // Looked up on the caller's options at each use, not copied: the adapter never pinned it.
    get blobStore() {
      return options.blobStore;
    },
    blobPrefix,
    onError,
  };
}
