import {
  ChangeMessageVisibilityBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { sqsFailure } from './errors';
import { type Lease, receiveExpiry } from './lease';
import type { QueueInfo } from './queue-directory';

/**
 * One ReceiveMessage (up to 10 messages, waiting up to `waitSeconds`), and the lease the
 * messages are held under. A poll cut short by `signal` resolves empty at once.
 */
export async function receiveBatch(options: {
  client: SQSClient;
  info: QueueInfo;
  max: number;
  seconds: number;
  waitSeconds: number;
  signal: AbortSignal;
}): Promise<{ messages: Message[]; lease: Lease }> {
  const { client, info, seconds, signal } = options;
  const sentAt = Date.now();
  const request = client.send(
    new ReceiveMessageCommand({
      QueueUrl: info.url,
      // On FIFO queues AWS fills one receive with as many messages of a group as it can, which
      // would lease two messages of one group at once; one at a time, the group lock holds.
      MaxNumberOfMessages: info.fifo ? 1 : Math.min(10, options.max),
      VisibilityTimeout: seconds,
      WaitTimeSeconds: options.waitSeconds,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
    }),
  );
  let onAbort = () => {};
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted');
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  let messages: Message[];
  try {
    const out = await Promise.race([request, aborted]);
    if (out === 'aborted') {
      // Cutting the HTTP request would not stop SQS: a long poll whose caller went away still
      // takes messages, which would then stay invisible for the whole lease. So the poll runs on
      // (at most its wait time) and whatever it takes is made visible again at once.
      void request.then(
        (late) => makeVisible(client, info.url, late.Messages ?? []),
        () => {},
      );
      return { messages: [], lease: { receivedAt: sentAt, expiresAt: sentAt } };
    }
    messages = out.Messages ?? [];
  } catch (error) {
    throw sqsFailure(`ReceiveMessage on "${info.name}"`, error);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  let expiresAt = messages.length > 0 ? receiveExpiry(sentAt, Date.now(), seconds) : sentAt;
  if (expiresAt === undefined) {
    // A long poll that waited: SQS took the messages at some unknown moment of the wait. Pin the
    // lease so its end is known (a lease assumed to last longer would let a stale ack through).
    const pinnedAt = Date.now();
    const out = await client
      .send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: info.url,
          Entries: messages.map((message, i) => ({
            Id: `m${i}`,
            ReceiptHandle: message.ReceiptHandle as string,
            VisibilityTimeout: seconds,
          })),
        }),
      )
      .catch((error: unknown) => {
        throw sqsFailure(`ChangeMessageVisibilityBatch on "${info.name}"`, error);
      });
    // A message whose visibility could not be pinned is not ours for sure: leave it to expire.
    const failed = new Set((out.Failed ?? []).map((entry) => entry.Id));
    messages = messages.filter((_, i) => !failed.has(`m${i}`));
    expiresAt = pinnedAt + seconds * 1000;
  }
  return { messages, lease: { receivedAt: sentAt, expiresAt } };
}

/** Releases messages nobody will process (one receive is counted on them all the same). */
async function makeVisible(client: SQSClient, url: string, messages: Message[]): Promise<void> {
  if (messages.length === 0) return;
  await client
    .send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: messages.map((message, i) => ({
          Id: `m${i}`,
          ReceiptHandle: message.ReceiptHandle as string,
          VisibilityTimeout: 0,
        })),
      }),
    )
    .catch(() => {
      // They come back when their visibility timeout ends.
    });
}
