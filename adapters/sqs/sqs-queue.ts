import type { Message } from '@aws-sdk/client-sqs';
import type { ClaimedMessage, ClaimOptions, Queue } from 'loopwork';
import { assertDeadLetterRef } from 'loopwork/adapter-kit';
import { createClaimer } from './claim';
import { peekDeadLetters, removeDeadLetter } from './dead-letter-queue';
import { createEnqueue } from './enqueue';
import { ATTRIBUTE } from './message-codec';
import { createQueueDirectory, type QueueInfo } from './queue-directory';
import { createSettlement } from './settlement';
import { resolveSqsQueueOptions, type SqsQueueOptions } from './sqs-queue-options';

/** The fields of a Lambda SQS event record that {@link SqsQueue.adoptRecord} reads. */
export interface SqsRecordLike {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: { ApproximateReceiveCount?: string; MessageGroupId?: string };
  messageAttributes?: Record<string, { stringValue?: string; dataType?: string }>;
  eventSourceARN: string;
}

/** A {@link Queue} on SQS, which can also take over records of a Lambda SQS event. */
export interface SqsQueue extends Queue {
  /** True when it serves FIFO queues. */
  readonly fifo: boolean;
  /**
   * Turns a record of a Lambda SQS event into a message this queue can ack, release, extend and
   * dead-letter. Its lease is the one Lambda holds; the adapter does not time it (see the docs).
   * Undefined when the record was settled on arrival: delivered more than `maxDeliveries` times
   * (dead-lettered, after `claim.onDeadLetter`), or a redelivery of an offloaded body already acked
   * (deleted). `claim` brings a delivery limit and dead-letter hook, as a claim does.
   */
  adoptRecord(
    record: SqsRecordLike,
    claim?: Pick<ClaimOptions, 'maxDeliveries' | 'onDeadLetter'>,
  ): Promise<ClaimedMessage | undefined>;
}

/**
 * A {@link Queue} on Amazon SQS (`@aws-sdk/client-sqs`).
 *
 * | contract | SQS |
 * | --- | --- |
 * | claim, `leaseMs` | ReceiveMessage (long poll, up to 10 a call), `VisibilityTimeout` rounded up to whole seconds |
 * | extend | ChangeMessageVisibility, within the 12-hour cap from the receive |
 * | extendMany | ChangeMessageVisibilityBatch, 10 messages a call, the calls sent together |
 * | release, `delayMs` | ChangeMessageVisibility (0 = at once) |
 * | ack | DeleteMessage |
 * | deliveryCount | `ApproximateReceiveCount` |
 * | id, receipt | `MessageId`, the receipt handle (with the lease's bounds) |
 * | deadLetter, deadLetters | a copy with the reason in the dead-letter queue, then DeleteMessage; reading it back |
 * | removeDeadLetter | receiving from the dead-letter queue until the letter comes, then DeleteMessage (see its costs) |
 * | enqueue `delayMs` | `DelaySeconds` (standard queues, at most 900 s) |
 * | enqueue `groupId` | `MessageGroupId` (FIFO queues) |
 * | priority, dedupe | refused: SQS has no priority, and FIFO deduplication is a 5-minute window, not "while queued" |
 *
 * Leases are timed by the adapter as well as by SQS: a receipt whose lease ran out is refused
 * with `LeaseLostError` without asking SQS, because SQS does not reliably refuse a stale receipt
 * handle (an expired one is still accepted while nobody received the message again).
 *
 * @example
 * ```ts
 * import { SQSClient } from '@aws-sdk/client-sqs';
 * import { createSqsQueue } from 'loopwork/sqs';
 *
 * const queue = createSqsQueue({ client: new SQSClient({}), maxDeliveries: 5 });
 * await queue.enqueue('emails', JSON.stringify({ to: 'a@b.c' }), { delayMs: 30_000 });
 * ```
 */
export function createSqsQueue(options: SqsQueueOptions): SqsQueue {
  const settings = resolveSqsQueueOptions(options);
  const { client, fifo } = settings;
  const directory = createQueueDirectory({
    client,
    fifo,
    queueUrl: options.queueUrl,
    deadLetterQueueUrl: options.deadLetterQueueUrl,
  });
  const closing = new AbortController();
  const settlement = createSettlement({ settings, directory });
  const { claim, toClaimed } = createClaimer({
    settings,
    directory,
    settlement,
    ack: (message) => queue.ack(message),
    closing: closing.signal,
  });

  const queue: SqsQueue = {
    specificationVersion: 'loopwork.queue.v2',
    adapter: 'sqs',
    fifo,
    capabilities: fifo
      ? { priority: false, delay: false, dedupe: false, groups: true }
      : { priority: false, delay: true, dedupe: false, groups: false },

    enqueue: createEnqueue({ settings, directory, closing: closing.signal }),
    claim,
    ack: settlement.ack,
    release: settlement.release,
    extend: settlement.extend,
    extendMany: settlement.extendMany,
    deadLetter: settlement.deadLetter,

    async deadLetters(name, listOptions = {}) {
      const info = await directory.info(name);
      const target = await directory.deadLetterQueue(name);
      if (!target) return [];
      return peekDeadLetters({
        client,
        target,
        queue: info,
        limit: listOptions.limit ?? 1000,
        blobStore: settings.blobStore,
      });
    },

    async removeDeadLetter(name, id) {
      assertDeadLetterRef('sqs', name, id);
      const info = await directory.info(name);
      // No dead-letter queue: deadLetters() lists none, so there is no such letter.
      const target = await directory.deadLetterQueue(name);
      if (!target) return false;
      return removeDeadLetter({
        client,
        target,
        queue: info,
        id,
        blobStore: settings.blobStore,
        onError: settings.onError,
      });
    },

    async adoptRecord(record, claim = {}) {
      const attribute = (name: string) => record.messageAttributes?.[name]?.stringValue;
      const name =
        attribute(ATTRIBUTE.queue) ??
        record.eventSourceARN.split(':').at(-1) ??
        record.eventSourceARN;
      const url = await directory.urlOfArn(record.eventSourceARN);
      const info: QueueInfo = { name, url, fifo, maxMessageSize: Number.POSITIVE_INFINITY };
      const sqs: Message = {
        MessageId: record.messageId,
        ReceiptHandle: record.receiptHandle,
        Body: record.body,
        Attributes: record.attributes,
        MessageAttributes: Object.fromEntries(
          Object.entries(record.messageAttributes ?? {}).map(([key, value]) => [
            key,
            { DataType: value.dataType ?? 'String', StringValue: value.stringValue },
          ]),
        ),
      };
      // Lambda holds the lease: the queue's visibility timeout outlasts the function's timeout,
      // so the adapter does not time it (extend still asks SQS, and the 12-hour cap still holds).
      return toClaimed(
        info,
        sqs,
        { receivedAt: Date.now(), expiresAt: Number.POSITIVE_INFINITY },
        claim,
      );
    },

    async close() {
      closing.abort();
    },
  };
  return queue;
}
