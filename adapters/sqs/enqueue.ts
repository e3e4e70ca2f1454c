import { randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { InvalidOptionError, type Queue } from 'loopwork';
import { sqsFailure } from './errors';
import { encodeBody, messageSize, pointerTo } from './message-codec';
import type { QueueDirectory } from './queue-directory';
import { sendFields } from './send-options';
import type { SqsQueueSettings } from './sqs-queue-options';

/**
 * The enqueue of an SQS queue: SendMessage, with a body too large for the queue offloaded to the
 * blob store and the message pointing at it.
 */
export function createEnqueue(options: {
  settings: SqsQueueSettings;
  directory: QueueDirectory;
  /** Aborted when the queue closes: enqueues are then refused. */
  closing: AbortSignal;
}): Queue['enqueue'] {
  const { settings, directory, closing } = options;
  const { client, fifo, blobPrefix, onError } = settings;
  return async (name, body, enqueueOptions = {}) => {
    if (closing.aborted) {
      throw new InvalidOptionError('[loopwork:sqs] enqueue on a closed queue');
    }
    const fields = sendFields(enqueueOptions, fifo);
    const info = await directory.info(name);
    let message = encodeBody(body, name);
    const size = messageSize(message.body, message.attributes);
    let blob: string | undefined;
    if (size > info.maxMessageSize) {
      if (!settings.blobStore) {
        throw new InvalidOptionError(
          `[loopwork:sqs] a message of ${size} bytes (body and attributes) is larger than queue "${name}" accepts (MaximumMessageSize ${info.maxMessageSize} bytes); pass blobStore to createSqsQueue to keep large bodies in a blob store`,
        );
      }
      blob = `${blobPrefix}${encodeURIComponent(name)}/${randomUUID()}`;
      await settings.blobStore.put(blob, Buffer.from(body, 'utf8'), {
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
      if (blob !== undefined) await settings.blobStore?.delete(blob).catch(onError);
      throw sqsFailure(`SendMessage to "${name}"`, error);
    }
  };
}
