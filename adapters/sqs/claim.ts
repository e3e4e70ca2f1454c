import type { Message } from '@aws-sdk/client-sqs';
import { type ClaimedMessage, type ClaimOptions, InvalidOptionError, type Queue } from 'loopwork';
import { type Lease, visibilitySeconds } from './lease';
import { ATTRIBUTE, decodeBody, sdkAttributes, UNGROUPED } from './message-codec';
import type { QueueDirectory, QueueInfo } from './queue-directory';
import type { Receipt } from './receipt';
import { receiveBatch } from './receive';
import type { Settlement } from './settlement';
import type { SqsQueueSettings } from './sqs-queue-options';

/** What {@link createClaimer} needs from the queue it claims for. */
export interface ClaimerOptions {
  settings: SqsQueueSettings;
  directory: QueueDirectory;
  settlement: Settlement;
  /** The queue's ack, for redeliveries of bodies already acked. */
  ack: Queue['ack'];
  /** Aborted when the queue closes: claims stop waiting and resolve empty. */
  closing: AbortSignal;
}

/**
 * Claiming on SQS: the receive loop over the claimed queues, and the step that turns a received
 * SQS message into a delivery (or settles it on arrival).
 */
export function createClaimer(options: ClaimerOptions) {
  const { settings, directory, settlement, closing } = options;
  const { client, maxDeliveries, maxWaitSeconds, onError } = settings;
  let rotation = 0;

  /** The body as enqueued, for a letter: decoded, or read back from the blob store when offloaded. */
  async function originalBody(
    sqs: { body: string },
    blob: string | undefined,
    attribute: (name: string) => string | undefined,
  ): Promise<string> {
    if (blob === undefined) return decodeBody(sqs.body, attribute);
    const bytes = await settings.blobStore?.get(blob);
    return bytes === undefined ? '' : Buffer.from(bytes).toString('utf8');
  }

  /**
   * Builds the claimed message of one received SQS message; undefined when it is not delivered.
   * `claim` brings the claim's own delivery limit and dead-letter hook (see ClaimOptions).
   */
  async function toClaimed(
    info: QueueInfo,
    sqs: Message,
    lease: Lease,
    claim: Pick<ClaimOptions, 'maxDeliveries' | 'onDeadLetter'> = {},
  ): Promise<ClaimedMessage | undefined> {
    const limit = Math.min(maxDeliveries, claim.maxDeliveries ?? Number.POSITIVE_INFINITY);
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
    settlement.track(message, lease);
    const sqsOriginal = { body: sqs.Body ?? '', attributes: sqs.MessageAttributes ?? {} };
    if (message.deliveryCount > limit) {
      // This receive counted one more delivery, which no consumer will ever see.
      const deliveries = message.deliveryCount - 1;
      const reason = `delivered ${deliveries} times without being settled (maxDeliveries ${limit})`;
      // Told first; when the hook refuses, the message stays invisible until its lease ends.
      await claim.onDeadLetter?.({
        id: message.id,
        queue: message.queue,
        body: await originalBody(sqsOriginal, blob, attribute),
        reason,
        deliveryCount: deliveries,
      });
      await settlement.moveToDeadLetters(message, reason, deliveries, sqsOriginal);
      return undefined;
    }
    if (blob === undefined) {
      message.body = decodeBody(sqsOriginal.body, attribute);
      return message;
    }
    const bytes = settings.blobStore ? await settings.blobStore.get(blob) : undefined;
    if (bytes !== undefined) {
      message.body = Buffer.from(bytes).toString('utf8');
      return message;
    }
    if (!settings.blobStore) {
      await settlement.moveToDeadLetters(
        message,
        `the body was offloaded to a blob store (${blob}), but this adapter has no blobStore`,
        message.deliveryCount,
        sqsOriginal,
      );
    } else {
      // Offloaded bodies are deleted on ack: this is a redelivery of a message already acked
      // (standard queues deliver at least once). Drop it.
      await options.ack(message);
    }
    return undefined;
  }

  /** One ReceiveMessage on one queue; resolves the deliveries it made. */
  async function receive(
    info: QueueInfo,
    claim: ClaimOptions,
    seconds: number,
    waitSeconds: number,
    signal: AbortSignal,
  ): Promise<ClaimedMessage[]> {
    const max = claim.max ?? 1;
    const batch = await receiveBatch({ client, info, max, seconds, waitSeconds, signal });
    const claimed: ClaimedMessage[] = [];
    for (const sqs of batch.messages) {
      try {
        const message = await toClaimed(info, sqs, batch.lease, claim);
        if (message) claimed.push(message);
      } catch (error) {
        // One message that cannot be delivered (its blob unreadable, no dead-letter queue for it)
        // must not fail the others; it comes back when its lease ends.
        onError(error);
      }
    }
    return claimed;
  }

  const claim: Queue['claim'] = async (queues, claimOptions) => {
    const seconds = visibilitySeconds(claimOptions.leaseMs);
    const max = claimOptions.max ?? 1;
    if (!(Number.isInteger(max) && max > 0)) {
      throw new InvalidOptionError(`[loopwork:sqs] max must be a positive integer, got ${max}`);
    }
    if (queues.length === 0 || closing.aborted || claimOptions.signal?.aborted) return [];
    const infos = await Promise.all(queues.map((name) => directory.info(name)));
    // A fair start: with several queues, each claim begins at the next one.
    const start = rotation++;
    const controller = new AbortController();
    const abort = () => controller.abort();
    closing.addEventListener('abort', abort, { once: true });
    claimOptions.signal?.addEventListener('abort', abort, { once: true });
    try {
      const deadline = Date.now() + (claimOptions.waitMs ?? 0);
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
        const messages = await receive(info, claimOptions, seconds, waitSeconds, controller.signal);
        if (messages.length > 0) return messages;
      }
      return [];
    } finally {
      closing.removeEventListener('abort', abort);
      claimOptions.signal?.removeEventListener('abort', abort);
    }
  };

  return { claim, toClaimed };
}
