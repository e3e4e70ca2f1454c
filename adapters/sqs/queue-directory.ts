import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { InvalidOptionError } from 'loopwork';
import { sqsFailure } from './errors';
import { sqsQueueName } from './message-codec';

/** What the adapter needs to know about one SQS queue. */
export interface QueueInfo {
  /** The loopwork queue name. */
  name: string;
  url: string;
  fifo: boolean;
  /** The queue's `MaximumMessageSize`, in bytes. */
  maxMessageSize: number;
  /** The queue's redrive policy, when it has one. */
  redrive?: { maxReceiveCount: number; deadLetterTargetArn: string };
}

/** Where dead letters of a queue go. */
export interface DeadLetterTarget {
  url: string;
  fifo: boolean;
  /** True when it is the target of the queue's own redrive policy. */
  redrive: boolean;
}

export interface DirectoryOptions {
  client: SQSClient;
  fifo: boolean;
  queueUrl?: ((name: string) => string | Promise<string>) | undefined;
  deadLetterQueueUrl?: ((name: string) => string | Promise<string> | undefined) | undefined;
}

/** Splits `arn:aws:sqs:<region>:<account>:<name>`. */
export function parseQueueArn(arn: string): { account: string; name: string } | undefined {
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[2] !== 'sqs') return undefined;
  return { account: parts[4] as string, name: parts[5] as string };
}

/** Resolves loopwork queue names to SQS queues once, and caches what it learned. */
export function createQueueDirectory(options: DirectoryOptions) {
  const { client } = options;
  const infos = new Map<string, Promise<QueueInfo>>();
  const deadLetters = new Map<string, Promise<DeadLetterTarget | undefined>>();
  const urlsByArn = new Map<string, Promise<string>>();

  /** Caches a lookup, but forgets a failed one so the next call tries again. */
  function cached<T>(
    map: Map<string, Promise<T>>,
    key: string,
    load: () => Promise<T>,
  ): Promise<T> {
    let value = map.get(key);
    if (!value) {
      value = load();
      map.set(key, value);
      value.catch(() => map.delete(key));
    }
    return value;
  }

  async function urlOf(name: string): Promise<string> {
    if (options.queueUrl) return options.queueUrl(name);
    const sqsName = sqsQueueName(name, options.fifo);
    if (sqsName === undefined) {
      throw new InvalidOptionError(
        `[loopwork:sqs] queue name "${name}" maps to an SQS name longer than 80 characters; pass queueUrl to name the SQS queue yourself`,
      );
    }
    try {
      const out = await client.send(new GetQueueUrlCommand({ QueueName: sqsName }));
      return out.QueueUrl as string;
    } catch (error) {
      if ((error as Error).name === 'QueueDoesNotExist') {
        throw new InvalidOptionError(
          `[loopwork:sqs] queue "${name}" has no SQS queue "${sqsName}": create it, or pass queueUrl to map queue names to URLs`,
        );
      }
      throw sqsFailure(`GetQueueUrl of "${sqsName}"`, error);
    }
  }

  async function load(name: string): Promise<QueueInfo> {
    const url = await urlOf(name);
    let attributes: Record<string, string>;
    try {
      const out = await client.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['FifoQueue', 'MaximumMessageSize', 'RedrivePolicy'],
        }),
      );
      attributes = out.Attributes ?? {};
    } catch (error) {
      throw sqsFailure(`GetQueueAttributes of queue "${name}" (${url})`, error);
    }
    const fifo = attributes.FifoQueue === 'true' || url.endsWith('.fifo');
    if (fifo !== options.fifo) {
      throw new InvalidOptionError(
        `[loopwork:sqs] queue "${name}" (${url}) is a ${fifo ? 'FIFO' : 'standard'} queue, but this adapter was created for ${options.fifo ? 'FIFO' : 'standard'} queues (fifo: ${options.fifo}); use one adapter per queue type`,
      );
    }
    const info: QueueInfo = {
      name,
      url,
      fifo,
      maxMessageSize: Number(attributes.MaximumMessageSize ?? 262_144),
    };
    if (attributes.RedrivePolicy) {
      try {
        const policy = JSON.parse(attributes.RedrivePolicy) as {
          maxReceiveCount?: number | string;
          deadLetterTargetArn?: string;
        };
        if (policy.deadLetterTargetArn) {
          info.redrive = {
            maxReceiveCount: Number(policy.maxReceiveCount ?? Number.POSITIVE_INFINITY),
            deadLetterTargetArn: policy.deadLetterTargetArn,
          };
        }
      } catch {
        // A policy SQS itself could not parse would not be in force; ignore it as SQS does.
      }
    }
    return info;
  }

  function urlOfArn(arn: string): Promise<string> {
    return cached(urlsByArn, arn, async () => {
      const parts = parseQueueArn(arn);
      if (!parts) throw new InvalidOptionError(`[loopwork:sqs] "${arn}" is not an SQS queue ARN`);
      try {
        const out = await client.send(
          new GetQueueUrlCommand({ QueueName: parts.name, QueueOwnerAWSAccountId: parts.account }),
        );
        return out.QueueUrl as string;
      } catch (error) {
        throw sqsFailure(`GetQueueUrl of ${arn}`, error);
      }
    });
  }

  return {
    /** The SQS queue behind a loopwork queue name. */
    info: (name: string) => cached(infos, name, () => load(name)),

    /** The URL of the queue with this ARN. */
    urlOfArn,

    /**
     * Where dead letters of `name` go: `deadLetterQueueUrl(name)` when given, else the target of
     * the queue's redrive policy; undefined when there is neither.
     */
    deadLetterQueue: (name: string) =>
      cached(deadLetters, name, async (): Promise<DeadLetterTarget | undefined> => {
        const info = await cached(infos, name, () => load(name));
        const explicit = await options.deadLetterQueueUrl?.(name);
        if (explicit !== undefined) {
          return { url: explicit, fifo: explicit.endsWith('.fifo'), redrive: false };
        }
        if (!info.redrive) return undefined;
        const url = await urlOfArn(info.redrive.deadLetterTargetArn);
        return { url, fifo: url.endsWith('.fifo'), redrive: true };
      }),
  };
}

export type QueueDirectory = ReturnType<typeof createQueueDirectory>;
