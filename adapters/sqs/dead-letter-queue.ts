import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { BlobStore, DeadLetter } from 'loopwork';
import { sqsFailure } from './errors';
import {
  ATTRIBUTE,
  type Attributes,
  decodeBody,
  sdkAttributes,
  stringAttribute,
} from './message-codec';
import type { DeadLetterTarget, QueueInfo } from './queue-directory';

/** Longest reason kept on a dead letter (attributes count against the message size). */
const MAX_REASON_CHARS = 4_000;
/** How long a listing hides the dead letters it has read, so that it reads each once. */
const PEEK_VISIBILITY_SECONDS = 30;

/** What a dead-letter copy carries. */
export interface DeadLetterCopy {
  id: string;
  queue: string;
  /** SQS body and attributes of the original (pointer and `loopwork.blob` for an offloaded body). */
  body: string;
  attributes: Attributes;
  reason: string;
  deliveries: number;
}

/** Sends the copy of a dead-lettered message to its dead-letter queue. */
export async function sendDeadLetter(
  client: SQSClient,
  target: DeadLetterTarget,
  copy: DeadLetterCopy,
): Promise<void> {
  const reason =
    copy.reason.length > MAX_REASON_CHARS
      ? `${copy.reason.slice(0, MAX_REASON_CHARS)}… (truncated)`
      : copy.reason;
  const attributes: Attributes = {
    ...copy.attributes,
    [ATTRIBUTE.reason]: stringAttribute(reason === '' ? '(no reason given)' : reason),
    [ATTRIBUTE.id]: stringAttribute(copy.id),
    [ATTRIBUTE.deliveries]: stringAttribute(String(copy.deliveries)),
    [ATTRIBUTE.deadAt]: stringAttribute(String(Date.now())),
  };
  try {
    await client.send(
      new SendMessageCommand({
        QueueUrl: target.url,
        MessageBody: copy.body,
        MessageAttributes: attributes,
        // Each copy in its own group: dead letters are inspected, not processed in order, and a
        // shared group would let only one of them be read at a time.
        ...(target.fifo
          ? {
              MessageGroupId: `loopwork.dead.${randomUUID()}`,
              MessageDeduplicationId: randomUUID(),
            }
          : {}),
      }),
    );
  } catch (error) {
    throw sqsFailure(
      `sending message ${copy.id} of "${copy.queue}" to its dead-letter queue`,
      error,
    );
  }
}

/**
 * Reads the dead letters of `queue` without consuming them. SQS has no peek: the listing receives
 * the messages with a visibility timeout (so that each is read once), then makes them visible
 * again at once. Costs: one ReceiveMessage per 10 letters plus one ChangeMessageVisibilityBatch
 * per 10, a ReceiveMessage that waits a second at the end (a long poll, so that SQS looks on all of
 * its servers), and each listing adds one to the letters' `ApproximateReceiveCount` (harmless unless
 * the dead-letter queue itself has a redrive policy). Other readers of the dead-letter queue do not
 * see the letters while a listing runs.
 */
export async function peekDeadLetters(options: {
  client: SQSClient;
  target: DeadLetterTarget;
  queue: QueueInfo;
  limit: number;
  blobStore?: BlobStore | undefined;
}): Promise<DeadLetter[]> {
  const { client, target, queue, limit } = options;
  const seen = new Map<string, Message>();
  const handles: string[] = [];
  try {
    for (;;) {
      const messages = await receiveHidden(client, target.url);
      if (messages.length === 0) break;
      for (const message of messages) {
        if (message.ReceiptHandle) handles.push(message.ReceiptHandle);
        if (queueOf(message) === queue.name && message.MessageId) {
          seen.set(message.MessageId, message);
        }
      }
      if (seen.size >= limit) break;
    }
  } catch (error) {
    throw sqsFailure(`reading the dead letters of "${queue.name}"`, error);
  } finally {
    await unhide(client, target.url, handles);
  }
  const letters = await Promise.all(
    [...seen.values()].map(async (message) => toDeadLetter(message, queue, options.blobStore)),
  );
  return letters
    .sort((a, b) => a.at - b.at)
    .slice(0, limit)
    .map(({ at: _, ...letter }) => letter);
}

/**
 * Takes the dead letter `id` of `queue` out of its dead-letter queue for good; false when it is
 * not there. SQS deletes only by receipt handle, so this receives from the dead-letter queue as
 * {@link peekDeadLetters} does until it meets the letter (the id and queue name `deadLetters()`
 * gives, so a letter the redrive policy moved is found by its SQS message id), deletes it, and
 * makes every other message it received visible again at once. An offloaded body's blob goes
 * with it, as on ack.
 *
 * Costs: one ReceiveMessage per 10 messages received before the letter (in no set order: SQS has
 * none) and one ChangeMessageVisibilityBatch per 10 of them, then one DeleteMessage; an id that is
 * not there reads the whole queue and waits a second at the end. Each message received adds one
 * to its `ApproximateReceiveCount`, and other readers do not see it meanwhile (nor does this
 * see a letter another reader holds hidden, a listing under way: it resolves false). On a FIFO
 * dead-letter queue, a letter the redrive policy moved behind another of its message group is out
 * of reach once the search has received that one (SQS hands out one message of a group at a
 * time): it resolves false until the letters ahead of it are gone, as a listing shows it only then.
 */
export async function removeDeadLetter(options: {
  client: SQSClient;
  target: DeadLetterTarget;
  queue: QueueInfo;
  id: string;
  blobStore?: BlobStore | undefined;
  onError: (error: unknown) => void;
}): Promise<boolean> {
  const { client, target, queue, id } = options;
  const handles: string[] = [];
  let found: Message | undefined;
  try {
    while (!found) {
      const messages = await receiveHidden(client, target.url);
      if (messages.length === 0) break;
      for (const message of messages) {
        if (!found && queueOf(message) === queue.name && letterIdOf(message) === id) {
          found = message;
        } else if (message.ReceiptHandle) handles.push(message.ReceiptHandle);
      }
    }
    if (found) {
      await client.send(
        new DeleteMessageCommand({ QueueUrl: target.url, ReceiptHandle: found.ReceiptHandle }),
      );
    }
  } catch (error) {
    // Shown again with the rest: a failed delete leaves the letter where it was.
    if (found?.ReceiptHandle) handles.push(found.ReceiptHandle);
    throw sqsFailure(`removing dead letter ${id} of "${queue.name}"`, error);
  } finally {
    await unhide(client, target.url, handles);
  }
  if (!found) return false;
  const blob = sdkAttributes(found.MessageAttributes)(ATTRIBUTE.blob);
  if (blob !== undefined) await options.blobStore?.delete(blob).catch(options.onError);
  return true;
}

/** Receives up to 10 messages of a dead-letter queue, hidden for the peek's visibility timeout. */
async function receiveHidden(client: SQSClient, url: string): Promise<Message[]> {
  const out = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: PEEK_VISIBILITY_SECONDS,
      WaitTimeSeconds: 1,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['SentTimestamp'],
    }),
  );
  return out.Messages ?? [];
}

/** The loopwork queue a dead-letter queue's message came from (the attribute every message carries). */
function queueOf(message: Message): string | undefined {
  return sdkAttributes(message.MessageAttributes)(ATTRIBUTE.queue);
}

/**
 * A letter's id: the original message id the adapter's copy carries, or the SQS message id of a
 * message the redrive policy moved (SQS keeps it).
 */
function letterIdOf(message: Message): string {
  return sdkAttributes(message.MessageAttributes)(ATTRIBUTE.id) ?? (message.MessageId as string);
}

async function unhide(client: SQSClient, url: string, handles: string[]): Promise<void> {
  for (let i = 0; i < handles.length; i += 10) {
    await client
      .send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: url,
          Entries: handles
            .slice(i, i + 10)
            .map((handle, j) => ({ Id: `m${j}`, ReceiptHandle: handle, VisibilityTimeout: 0 })),
        }),
      )
      // The letters become visible again on their own after the peek's visibility timeout.
      .catch(() => {});
  }
}

async function toDeadLetter(
  message: Message,
  queue: QueueInfo,
  blobStore: BlobStore | undefined,
): Promise<DeadLetter & { at: number }> {
  const attribute = sdkAttributes(message.MessageAttributes);
  const blobKey = attribute(ATTRIBUTE.blob);
  let body: string;
  if (blobKey !== undefined) {
    const bytes = await blobStore?.get(blobKey);
    body = bytes ? Buffer.from(bytes).toString('utf8') : '';
  } else {
    body = decodeBody(message.Body ?? '', attribute);
  }
  const reason = attribute(ATTRIBUTE.reason);
  const deliveries = attribute(ATTRIBUTE.deliveries);
  const redriveCount = queue.redrive?.maxReceiveCount;
  return {
    id: letterIdOf(message),
    queue: queue.name,
    body,
    // A letter without a reason was moved by the queue's redrive policy, not by the adapter.
    reason:
      reason ??
      `moved to the dead-letter queue by the redrive policy of "${queue.name}" after ${redriveCount ?? '?'} receives (maxReceiveCount)`,
    deliveryCount:
      deliveries !== undefined
        ? Number(deliveries)
        : (redriveCount ?? Number(message.Attributes?.ApproximateReceiveCount ?? 0)),
    at: Number(attribute(ATTRIBUTE.deadAt) ?? message.Attributes?.SentTimestamp ?? 0),
  };
}
