import { randomUUID } from 'node:crypto';
import {
  type ClaimedMessage,
  type ClaimOptions,
  createWorker,
  InvalidOptionError,
  type Queue,
  type WorkerOptions,
} from 'loopwork';
import { ATTRIBUTE, decodeBody, UNGROUPED } from './message-codec';
import type { SqsQueue } from './sqs-queue';

/** One record of a Lambda SQS event, as Lambda delivers it. */
export interface SqsEventRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: {
    ApproximateReceiveCount: string;
    SentTimestamp: string;
    SenderId: string;
    ApproximateFirstReceiveTimestamp: string;
    MessageGroupId?: string;
    MessageDeduplicationId?: string;
    SequenceNumber?: string;
    AWSTraceHeader?: string;
    DeadLetterQueueSourceArn?: string;
  };
  messageAttributes: Record<
    string,
    {
      stringValue?: string;
      binaryValue?: string;
      stringListValues?: string[];
      binaryListValues?: string[];
      dataType: string;
    }
  >;
  md5OfBody: string;
  md5OfMessageAttributes?: string | null;
  eventSource: string;
  /** `arn:aws:sqs:<region>:<account>:<queue name>` */
  eventSourceARN: string;
  awsRegion: string;
}

/** The event Lambda passes a function subscribed to an SQS queue. */
export interface SqsEvent {
  Records: SqsEventRecord[];
}

/** The partial batch response: only the records named here come back (with `ReportBatchItemFailures`). */
export interface SqsBatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

/** The part of the Lambda context object the handler reads. */
export interface LambdaContextLike {
  getRemainingTimeInMillis?: () => number;
  awsRequestId?: string;
}

/** Options of {@link createSqsLambdaHandler}. */
export interface SqsLambdaHandlerOptions
  extends Pick<
    WorkerOptions,
    | 'runs'
    | 'handlers'
    | 'events'
    | 'heartbeats'
    | 'blobs'
    | 'onError'
    | 'redact'
    | 'heartbeatTtlMs'
    | 'maxDeliveries'
    | 'abortGraceMs'
    | 'maxOutputBytes'
  > {
  /**
   * The SQS queue the records come from (`createSqsQueue`, of the same type). With it, successful
   * records are deleted at once, retries wait their backoff (ChangeMessageVisibility), leases are
   * renewed while a task runs, bad messages go to the dead-letter queue with their reason, and
   * bodies offloaded to a blob store are read. Without it, every one of those records is simply
   * reported failed, and the queue's redrive policy has to end the loop of a bad message.
   */
  queue?: SqsQueue;
  /** Records of a standard queue run at once (FIFO records always run one by one, in order). @defaultValue 1 */
  concurrency?: number;
  /** Lease renewed every third of it while a task runs (only with `queue`). @defaultValue WORKER_DEFAULTS.leaseMs (10 s) */
  leaseMs?: number;
  /**
   * Time before the function's timeout at which running tasks are interrupted, so they checkpoint
   * and are released (reported failed) instead of dying with the function. @defaultValue 10000
   */
  shutdownMarginMs?: number;
}

/**
 * A Lambda handler for an SQS event source: runs each record through the same task handlers,
 * run store and fencing as {@link createWorker} (it is a worker, over a queue made of the event's
 * records), and reports the records that must come back in `batchItemFailures`.
 *
 * Per record: completed, failed for good, a leftover of a finished run, or dead-lettered → not
 * reported (Lambda deletes it); retrying, interrupted or unsettled → reported, so SQS delivers it
 * again after its visibility timeout (or after the retry backoff, with `queue`). FIFO queues stop
 * at the first failure and report it with every record after it, keeping each group in order.
 *
 * A malformed record (not a task envelope, unknown task type, invalid payload) is dead-lettered
 * with its reason when `queue` has a dead-letter queue. Otherwise it is reported failed and comes
 * back until the queue's redrive policy moves it after `maxReceiveCount` receives: give every
 * queue a redrive policy, or a poison message loops until its retention period ends.
 *
 * Enable `ReportBatchItemFailures` on the event source mapping: without it, Lambda ignores the
 * response and deletes the whole batch.
 *
 * @example
 * ```ts
 * import { SQSClient } from '@aws-sdk/client-sqs';
 * import { createSqsLambdaHandler, createSqsQueue } from 'loopwork/sqs';
 *
 * export const handler = createSqsLambdaHandler({
 *   handlers: [summarizeHandler],
 *   runs,
 *   queue: createSqsQueue({ client: new SQSClient({}) }),
 * });
 * ```
 */
export function createSqsLambdaHandler(
  options: SqsLambdaHandlerOptions,
): (event: SqsEvent, context?: LambdaContextLike) => Promise<SqsBatchResponse> {
  const concurrency = options.concurrency ?? 1;
  const shutdownMarginMs = options.shutdownMarginMs ?? 10_000;
  if (!(Number.isInteger(concurrency) && concurrency > 0)) {
    throw new InvalidOptionError(
      `[loopwork:sqs] concurrency must be a positive integer, got ${concurrency}`,
    );
  }
  if (options.handlers.length === 0) {
    throw new InvalidOptionError('[loopwork:sqs] handlers must name at least one task');
  }
  const report =
    options.onError ?? ((error: unknown) => console.error('[loopwork:sqs lambda]', error));

  return async (event, context = {}) => {
    const records = event.Records ?? [];
    const outcomes = new Map<string, 'done' | 'again'>();
    const next: SqsEventRecord[] = [];
    const worker = createWorker({
      ...options,
      queue: recordQueue({ next, outcomes, queue: options.queue, report }),
      id: `lambda-${context.awsRequestId ?? randomUUID().slice(0, 8)}`,
      concurrency: 1,
      pollWaitMs: 1,
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    });
    let stopped = false;
    const remaining = context.getRemainingTimeInMillis?.();
    const timer =
      remaining === undefined
        ? undefined
        : setTimeout(
            () => {
              stopped = true;
              void worker.stop({ graceMs: 0 });
            },
            Math.max(0, remaining - shutdownMarginMs),
          );
    try {
      const fifo = records.some((record) => record.eventSourceARN.endsWith('.fifo'));
      if (fifo) {
        // AWS's rule for FIFO sources: stop at the first failure, report it and all after it.
        for (const record of records) {
          if (stopped) break;
          next.push(record);
          await worker.runOnce({ waitMs: 0 });
          if (outcomes.get(record.messageId) !== 'done') break;
        }
      } else {
        next.push(...records);
        const lane = async () => {
          while (next.length > 0 && !stopped) await worker.runOnce({ waitMs: 0 });
        };
        await Promise.all(Array.from({ length: Math.min(concurrency, next.length) }, lane));
      }
    } finally {
      clearTimeout(timer);
    }
    return {
      batchItemFailures: records
        .filter((record) => outcomes.get(record.messageId) !== 'done')
        .map((record) => ({ itemIdentifier: record.messageId })),
    };
  };
}

/** A record as a claimed message, without an SQS adapter (Lambda holds its lease). */
function messageOf(record: SqsEventRecord): ClaimedMessage {
  const attribute = (name: string) => record.messageAttributes?.[name]?.stringValue;
  const blob = attribute(ATTRIBUTE.blob);
  if (blob !== undefined) {
    throw new InvalidOptionError(
      `[loopwork:sqs] record ${record.messageId}: its body is in a blob store (${blob}); pass queue: createSqsQueue({ blobStore, … }) to the Lambda handler to read it`,
    );
  }
  const group = record.attributes.MessageGroupId;
  return {
    id: record.messageId,
    queue: attribute(ATTRIBUTE.queue) ?? record.eventSourceARN.split(':').at(-1) ?? '',
    body: decodeBody(record.body, attribute),
    deliveryCount: Number(record.attributes.ApproximateReceiveCount ?? 1),
    receipt: record.receiptHandle,
    ...(group === undefined || group.startsWith(UNGROUPED) ? {} : { groupId: group }),
  };
}

/**
 * The queue the Lambda's worker claims from: the event's records, handed out one per claim.
 * Settling a record decides whether it is reported; with an SQS adapter, settling also acts on
 * SQS at once (delete, visibility, dead-letter queue).
 */
function recordQueue(state: {
  next: SqsEventRecord[];
  outcomes: Map<string, 'done' | 'again'>;
  queue: SqsQueue | undefined;
  report: (error: unknown) => void;
}): Queue {
  const { next, outcomes, queue, report } = state;

  /**
   * A record as a message, adopted with the worker's delivery limit and dead-letter hook; undefined
   * when it was settled on arrival (dead-lettered after too many deliveries, or dropped).
   */
  async function adopt(record: SqsEventRecord, claim: ClaimOptions) {
    if (queue) return queue.adoptRecord(record, claim);
    const message = messageOf(record);
    const limit = claim.maxDeliveries ?? Number.POSITIVE_INFINITY;
    if (message.deliveryCount <= limit) return message;
    // No queue to dead-letter it in: the run still ends, and the redrive policy moves the record.
    const reason = `delivered ${message.deliveryCount - 1} times without being settled (maxDeliveries ${limit})`;
    await claim.onDeadLetter?.({ ...message, reason, deliveryCount: message.deliveryCount - 1 });
    outcomes.set(record.messageId, 'again');
    return undefined;
  }

  return {
    specificationVersion: 'loopwork.queue.v2',
    adapter: 'sqs-lambda',
    capabilities: { priority: false, delay: false, dedupe: false, groups: false },
    async enqueue() {
      throw new InvalidOptionError('[loopwork:sqs] the Lambda handler does not enqueue');
    },
    async claim(_queues, claim) {
      while (!claim.signal?.aborted) {
        const record = next.shift();
        if (!record) return [];
        try {
          const message = await adopt(record, claim);
          if (message) return [message];
          if (!outcomes.has(record.messageId)) outcomes.set(record.messageId, 'done');
        } catch (error) {
          report(error);
          outcomes.set(record.messageId, 'again');
        }
      }
      return [];
    },
    async ack(message) {
      // Lambda deletes unreported records after the batch; deleting now also spares them a
      // redelivery should a later record time the function out.
      await queue?.ack(message).catch(report);
      outcomes.set(message.id, 'done');
    },
    async release(message, options) {
      outcomes.set(message.id, 'again');
      // Without it the record comes back after the queue's visibility timeout instead.
      await queue?.release(message, options).catch(report);
    },
    async extend(message, leaseMs) {
      await queue?.extend(message, leaseMs);
    },
    async deadLetter(message, reason) {
      if (queue) {
        try {
          await queue.deadLetter(message, reason);
          outcomes.set(message.id, 'done');
          return;
        } catch (error) {
          report(error);
        }
      }
      outcomes.set(message.id, 'again');
      report(
        new Error(
          `[loopwork:sqs] record ${message.id} of "${message.queue}" could not be dead-lettered (${reason}); it is reported failed, and the queue's redrive policy must move it to a dead-letter queue`,
        ),
      );
    },
    async deadLetters(name, listOptions) {
      return queue ? queue.deadLetters(name, listOptions) : [];
    },
    async close() {},
  };
}
