import {
  ChangeMessageVisibilityBatchCommand,
  type ChangeMessageVisibilityBatchCommandOutput,
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
} from '@aws-sdk/client-sqs';
import { type ClaimedMessage, InvalidOptionError, LeaseLostError, type Queue } from 'loopwork';
import { sendDeadLetter } from './dead-letter-queue';
import { isLeaseError, sqsFailure } from './errors';
import { type Lease, planExtension, releaseSeconds } from './lease';
import { type Attributes, encodeBody, pointerTo } from './message-codec';
import type { QueueDirectory } from './queue-directory';
import { receiptOf } from './receipt';
import type { SqsQueueSettings } from './sqs-queue-options';

/** What {@link createSettlement} needs from the queue it settles for. */
export interface SettlementOptions {
  settings: SqsQueueSettings;
  directory: QueueDirectory;
}

/**
 * The settle operations of an SQS queue (ack, release, extend, dead-letter) and the lease checks
 * in front of them: a delivery that is settled or whose lease ran out is refused with
 * LeaseLostError before SQS is asked.
 */
export function createSettlement(options: SettlementOptions) {
  const { settings, directory } = options;
  const { client, onError } = settings;
  /** Lease bounds as extended and settled by this instance (the receipt holds the first ones). */
  const leases = new WeakMap<ClaimedMessage, Lease & { settled?: boolean }>();

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

  /** Starts timing a new delivery's lease (a copy of `lease`, which this instance then updates). */
  function track(message: ClaimedMessage, lease: Lease): void {
    leases.set(message, { ...lease });
  }

  const ack: Queue['ack'] = async (message) => {
    const { receipt, lease } = hold(message, 'ack');
    await fenced(message, 'ack', () =>
      client.send(new DeleteMessageCommand({ QueueUrl: receipt.u, ReceiptHandle: receipt.h })),
    );
    lease.settled = true;
    if (receipt.b !== undefined) await settings.blobStore?.delete(receipt.b).catch(onError);
  };

  const release: Queue['release'] = async (message, releaseOptions = {}) => {
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
  };

  const extend: Queue['extend'] = async (message, leaseMs) => {
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
  };

  /**
   * `extend` for many messages: ChangeMessageVisibilityBatch, 10 entries a call (SQS's limit) per
   * queue, the calls sent together. A delivery settled, run out or at its 12-hour cap is answered
   * false without asking SQS, as `extend` refuses it; an entry SQS refuses for its receipt handle
   * is false too. Any other refusal, of a call or an entry, rejects the whole call.
   */
  const extendMany: NonNullable<Queue['extendMany']> = async (messages, leaseMs) => {
    const answers: boolean[] = messages.map(() => false);
    const sentAt = Date.now();
    const byUrl = new Map<string, Array<{ i: number; handle: string; lease: Lease }>>();
    let seconds = 0;
    for (const [i, message] of messages.entries()) {
      let held: ReturnType<typeof hold>;
      try {
        held = hold(message, 'extend');
      } catch (error) {
        if (LeaseLostError.isInstance(error)) continue;
        throw error;
      }
      const plan = planExtension(held.lease, sentAt, leaseMs);
      if (!plan.ok) continue;
      seconds = plan.seconds;
      const entries = byUrl.get(held.receipt.u) ?? [];
      entries.push({ i, handle: held.receipt.h, lease: held.lease });
      byUrl.set(held.receipt.u, entries);
    }
    const calls = [...byUrl].flatMap(([url, entries]) =>
      Array.from({ length: Math.ceil(entries.length / 10) }, (_, k) => ({
        url,
        chunk: entries.slice(10 * k, 10 * k + 10),
      })),
    );
    await Promise.all(
      calls.map(async ({ url, chunk }) => {
        let answer: ChangeMessageVisibilityBatchCommandOutput;
        try {
          answer = await client.send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: url,
              Entries: chunk.map((entry, k) => ({
                Id: String(k),
                ReceiptHandle: entry.handle,
                VisibilityTimeout: seconds,
              })),
            }),
          );
        } catch (error) {
          throw sqsFailure(`extendMany of ${chunk.length} message(s) on ${url}`, error);
        }
        for (const { Id } of answer.Successful ?? []) {
          const entry = chunk[Number(Id)];
          if (!entry) continue;
          answers[entry.i] = true;
          if (Number.isFinite(entry.lease.expiresAt))
            entry.lease.expiresAt = sentAt + seconds * 1000;
        }
        for (const failed of answer.Failed ?? []) {
          if (isLeaseError({ name: failed.Code, message: failed.Message })) continue;
          throw sqsFailure(`extendMany of ${chunk.length} message(s) on ${url}`, {
            name: failed.Code,
            message: failed.Message,
          });
        }
      }),
    );
    return answers;
  };

  const deadLetter: Queue['deadLetter'] = (message, reason) =>
    moveToDeadLetters(message, reason, message.deliveryCount, originalOf(message));

  return { track, moveToDeadLetters, ack, release, extend, extendMany, deadLetter };
}

/** The settle operations of one SQS queue instance. */
export type Settlement = ReturnType<typeof createSettlement>;
