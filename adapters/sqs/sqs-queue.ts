import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  type BlobStore,
  type ClaimedMessage,
  type ClaimOptions,
  InvalidOptionError,
  LeaseLostError,
  type Queue,
} from 'loopwork';
import { peekDeadLetters, sendDeadLetter } from './dead-letter-queue';
import { isLeaseError, sqsFailure } from './errors';
import { type Lease, planExtension, releaseSeconds, visibilitySeconds } from './lease';
import {
  ATTRIBUTE,
  type Attributes,
  decodeBody,
  encodeBody,
  messageSize,
  pointerTo,
  sdkAttributes,
  UNGROUPED,
} from './message-codec';
import { createQueueDirectory, type QueueInfo } from './queue-directory';
import { type Receipt, receiptOf } from './receipt';
import { receiveBatch } from './receive';
import { sendFields } from './send-options';

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
   * (dead-lettered), or a redelivery of an offloaded body already acked (deleted).
   */
  adoptRecord(record: SqsRecordLike): Promise<ClaimedMessage | undefined>;
}

/**
 * A {@link Queue} on Amazon SQS (`@aws-sdk/client-sqs`).
 *
 * | contract | SQS |
 * | --- | --- |
 * | claim, `leaseMs` | ReceiveMessage (long poll, up to 10 a call), `VisibilityTimeout` rounded up to whole seconds |
 * | extend | ChangeMessageVisibility, within the 12-hour cap from the receive |
 * | release, `delayMs` | ChangeMessageVisibility (0 = at once) |
 * | ack | DeleteMessage |
 * | deliveryCount | `ApproximateReceiveCount` |
 * | id, receipt | `MessageId`, the receipt handle (with the lease's bounds) |
 * | deadLetter, deadLetters | a copy with the reason in the dead-letter queue, then DeleteMessage; reading it back |
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
  const directory = createQueueDirectory({
    client,
    fifo,
    queueUrl: options.queueUrl,
    deadLetterQueueUrl: options.deadLetterQueueUrl,
  });
  /** Lease bounds as extended and settled by this instance (the receipt holds the first ones). */
  const leases = new WeakMap<ClaimedMessage, Lease & { settled?: boolean }>();
  const closing = new AbortController();
  let rotation = 0;

  function lost(message: ClaimedMessage, operation: string, why: string): LeaseLostError {
    return new LeaseLostError(
      `[loopwork:sqs] cannot ${operation} message ${message.id} of "${message.queue}": ${why}`,
    );
  }

  /** The delivery's receipt and lease, or LeaseLostError when it is settled or ran out. */
  function hold(message: ClaimedMessage, operation: string) {
    const receipt = receiptOf(message);
    let lease = leases.get(message);
    if (!lease) {
      lease = { receivedAt: receipt.r, expiresAt: receipt.x ?? Number.POSITIVE_INFINITY };
      leases.set(message, lease);
    }
    if (lease.settled) throw lost(message, operation, 'it was already settled');
    const now = Date.now();
    if (now >= lease.expiresAt) {
      throw lost(
        message,
        operation,
        `its lease ran out ${now - lease.expiresAt} ms ago (delivered again, or about to be)`,
      );
    }
    return { receipt, lease };
  }

  /** Runs an SQS call on a held delivery; SQS errors about the receipt become LeaseLostError. */
  async function fenced<T>(
    message: ClaimedMessage,
    operation: string,
    call: () => Promise<T>,
  ): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (isLeaseError(error)) {
        throw lost(
          message,
          operation,
          `SQS refused the receipt handle (${(error as Error).message})`,
        );
      }
      throw sqsFailure(`${operation} of message ${message.id} of "${message.queue}"`, error);
    }
  }

  /** Moves a held delivery to the dead-letter queue: a copy with the reason, then DeleteMessage. */
  async function moveToDeadLetters(
    message: ClaimedMessage,
    reason: string,
    deliveries: number,
    original: { body: string; attributes: Attributes },
  ): Promise<void> {
    const { receipt, lease } = hold(message, 'dead-letter');
    const target = await directory.deadLetterQueue(message.queue);
    if (!target) {
      throw new InvalidOptionError(
        `[loopwork:sqs] queue "${message.queue}" has no dead-letter queue: give it a redrive policy (RedrivePolicy.deadLetterTargetArn) or pass deadLetterQueueUrl`,
      );
    }
    await sendDeadLetter(client, target, {
      id: message.id,
      queue: message.queue,
      body: original.body,
      attributes: original.attributes,
      reason,
      deliveries,
    });
    // A crash right here leaves the copy and the original: the original comes back after its
    // lease and may be dead-lettered again (a duplicate letter, never a lost one).
    await fenced(message, 'dead-letter', () =>
      client.send(new DeleteMessageCommand({ QueueUrl: receipt.u, ReceiptHandle: receipt.h })),
    );
    lease.settled = true;
  }

  /** The SQS body and attributes to put in a dead-letter copy of `message`. */
  function originalOf(message: ClaimedMessage): { body: string; attributes: Attributes } {
    const blob = receiptOf(message).b;
    if (blob !== undefined) return pointerTo(blob, message.queue);
    return encodeBody(message.body, message.queue);
  }

  /** Builds the claimed message of one received SQS message; undefined when it is not delivered. */
  async function toClaimed(
    info: QueueInfo,
    sqs: Message,
    lease: Lease,
  ): Promise<ClaimedMessage | undefined> {
    const attribute = sdkAttributes(sqs.MessageAttributes);
    const blob = attribute(ATTRIBUTE.blob);
    const group = sqs.Attributes?.MessageGroupId;
    const receipt: Receipt = {
      u: info.url,
      h: sqs.ReceiptHandle as string,
      r: lease.receivedAt,
      x: lease.expiresAt,
      ...(blob === undefined ? {} : { b: blob }),
    };
    const message: ClaimedMessage = {
      id: sqs.MessageId as string,
      queue: info.name,
      body: '',
      deliveryCount: Number(sqs.Attributes?.ApproximateReceiveCount ?? 1),
      receipt: JSON.stringify(receipt),
      ...(group === undefined || group.startsWith(UNGROUPED) ? {} : { groupId: group }),
    };
    leases.set(message, { ...lease });
    const sqsOriginal = { body: sqs.Body ?? '', attributes: sqs.MessageAttributes ?? {} };
    if (message.deliveryCount > maxDeliveries) {
      // This receive counted one more delivery, which no consumer will ever see.
      await moveToDeadLetters(
        message,
        `delivered ${maxDeliveries} times without being settled (maxDeliveries ${maxDeliveries})`,
        message.deliveryCount - 1,
        sqsOriginal,
      );
      return undefined;
    }
    if (blob === undefined) {
      message.body = decodeBody(sqsOriginal.body, attribute);
      return message;
    }
    const bytes = options.blobStore ? await options.blobStore.get(blob) : undefined;
    if (bytes !== undefined) {
      message.body = Buffer.from(bytes).toString('utf8');
      return message;
    }
    if (!options.blobStore) {
      await moveToDeadLetters(
        message,
        `the body was offloaded to a blob store (${blob}), but this adapter has no blobStore`,
        message.deliveryCount,
        sqsOriginal,
      );
    } else {
      // Offloaded bodies are deleted on ack: this is a redelivery of a message already acked
      // (standard queues deliver at least once). Drop it.
      await queue.ack(message);
    }
    return undefined;
  }

  /** One ReceiveMessage on one queue; resolves the deliveries it made. */
  async function receive(
    info: QueueInfo,
    max: number,
    seconds: number,
    waitSeconds: number,
    signal: AbortSignal,
  ): Promise<ClaimedMessage[]> {
    const batch = await receiveBatch({ client, info, max, seconds, waitSeconds, signal });
    const claimed: ClaimedMessage[] = [];
    for (const sqs of batch.messages) {
      try {
        const message = await toClaimed(info, sqs, batch.lease);
        if (message) claimed.push(message);
      } catch (error) {
        // One message that cannot be delivered (its blob unreadable, no dead-letter queue for it)
        // must not fail the others; it comes back when its lease ends.
        onError(error);
      }
    }
    return claimed;
  }

  const queue: SqsQueue = {
    specificationVersion: 'loopwork.queue.v1',
    adapter: 'sqs',
    fifo,
    capabilities: fifo
      ? { priority: false, delay: false, dedupe: false, groups: true }
      : { priority: false, delay: true, dedupe: false, groups: false },

    async enqueue(name, body, enqueueOptions = {}) {
      if (closing.signal.aborted) {
        throw new InvalidOptionError('[loopwork:sqs] enqueue on a closed queue');
      }
      const fields = sendFields(enqueueOptions, fifo);
      const info = await directory.info(name);
      let message = encodeBody(body, name);
      const size = messageSize(message.body, message.attributes);
      let blob: string | undefined;
      if (size > info.maxMessageSize) {
        if (!options.blobStore) {
          throw new InvalidOptionError(
            `[loopwork:sqs] a message of ${size} bytes (body and attributes) is larger than queue "${name}" accepts (MaximumMessageSize ${info.maxMessageSize} bytes); pass blobStore to createSqsQueue to keep large bodies in a blob store`,
          );
        }
        blob = `${blobPrefix}${encodeURIComponent(name)}/${randomUUID()}`;
        await options.blobStore.put(blob, Buffer.from(body, 'utf8'), {
          contentType: 'text/plain; charset=utf-8',
        });
        message = pointerTo(blob, name);
      }
      try {
        const out = await client.send(
          new SendMessageCommand({
            QueueUrl: info.url,
            MessageBody: message.body,
            MessageAttributes: message.attributes,
            ...fields,
          }),
        );
        return { id: out.MessageId as string, deduplicated: false };
      } catch (error) {
        if (blob !== undefined) await options.blobStore?.delete(blob).catch(onError);
        throw sqsFailure(`SendMessage to "${name}"`, error);
      }
    },

    async claim(queues, claim: ClaimOptions) {
      const seconds = visibilitySeconds(claim.leaseMs);
      const max = claim.max ?? 1;
      if (!(Number.isInteger(max) && max > 0)) {
        throw new InvalidOptionError(`[loopwork:sqs] max must be a positive integer, got ${max}`);
      }
      if (queues.length === 0 || closing.signal.aborted || claim.signal?.aborted) return [];
      const infos = await Promise.all(queues.map((name) => directory.info(name)));
      // A fair start: with several queues, each claim begins at the next one.
      const start = rotation++;
      const controller = new AbortController();
      const abort = () => controller.abort();
      closing.signal.addEventListener('abort', abort, { once: true });
      claim.signal?.addEventListener('abort', abort, { once: true });
      try {
        const deadline = Date.now() + (claim.waitMs ?? 0);
        const single = infos.length === 1;
        for (let i = 0; !controller.signal.aborted; i++) {
          const remaining = deadline - Date.now();
          if (remaining <= 0 && i >= infos.length) return [];
          // Several queues: one pass without waiting, then long polls of one second in turn
          // (SQS long-polls one queue per call). One queue: long polls as long as the wait.
          const firstPass = i < infos.length;
          const waitSeconds =
            remaining <= 0 || (!single && firstPass)
              ? 0
              : Math.min(single ? maxWaitSeconds : 1, Math.ceil(remaining / 1000));
          const info = infos[(start + i) % infos.length] as QueueInfo;
          const messages = await receive(info, max, seconds, waitSeconds, controller.signal);
          if (messages.length > 0) return messages;
        }
        return [];
      } finally {
        closing.signal.removeEventListener('abort', abort);
        claim.signal?.removeEventListener('abort', abort);
      }
    },

    async ack(message) {
      const { receipt, lease } = hold(message, 'ack');
      await fenced(message, 'ack', () =>
        client.send(new DeleteMessageCommand({ QueueUrl: receipt.u, ReceiptHandle: receipt.h })),
      );
      lease.settled = true;
      if (receipt.b !== undefined) await options.blobStore?.delete(receipt.b).catch(onError);
    },

    async release(message, releaseOptions = {}) {
      const { receipt, lease } = hold(message, 'release');
      const seconds = releaseSeconds(lease, Date.now(), releaseOptions.delayMs ?? 0);
      await fenced(message, 'release', () =>
        client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: receipt.u,
            ReceiptHandle: receipt.h,
            VisibilityTimeout: seconds,
          }),
        ),
      );
      lease.settled = true;
    },

    async extend(message, leaseMs) {
      const { receipt, lease } = hold(message, 'extend');
      const sentAt = Date.now();
      const plan = planExtension(lease, sentAt, leaseMs);
      if (!plan.ok) throw lost(message, 'extend', plan.message);
      await fenced(message, 'extend', () =>
        client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: receipt.u,
            ReceiptHandle: receipt.h,
            VisibilityTimeout: plan.seconds,
          }),
        ),
      );
      if (Number.isFinite(lease.expiresAt)) lease.expiresAt = sentAt + plan.seconds * 1000;
    },

    deadLetter: (message, reason) =>
      moveToDeadLetters(message, reason, message.deliveryCount, originalOf(message)),

    async deadLetters(name, listOptions = {}) {
      const info = await directory.info(name);
      const target = await directory.deadLetterQueue(name);
      if (!target) return [];
      return peekDeadLetters({
        client,
        target,
        queue: info,
        limit: listOptions.limit ?? 1000,
        blobStore: options.blobStore,
      });
    },

    async adoptRecord(record) {
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
      return toClaimed(info, sqs, { receivedAt: Date.now(), expiresAt: Number.POSITIVE_INFINITY });
    },

    async close() {
      closing.abort();
    },
  };
  return queue;
}
