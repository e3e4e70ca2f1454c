import { Queue as BullQueue, Worker as BullWorker, createRedisBackend, QueueKeys } from 'bullmq';
import type { Redis } from 'ioredis';
import { InvalidOptionError } from 'loopwork';
import type { DeadLetterKeys } from './dead-letters';
import type { GroupKeys } from './group-scripts';

/** What the adapter holds for one loopwork queue: its BullMQ name, keys and objects. */
export interface BullBinding {
  /** The BullMQ queue name. */
  bull: string;
  keys: DeadLetterKeys & GroupKeys;
  producer?: BullQueue;
  consumer?: BullWorker;
}

/** The names of the keys of one BullMQ queue that the adapter reads or writes itself. */
export function queueKeys(keyNames: QueueKeys, bull: string): BullBinding['keys'] {
  const key = (type: string) => keyNames.toKey(bull, type);
  return {
    failed: key('failed'),
    // Sub-keys (`loopwork:…`), not plain names: BullMQ's removeOrphanedJobs deletes every
    // other plain key under the queue as an orphaned job.
    dead: key('loopwork:dead'),
    heads: key('loopwork:heads'),
    members: key('loopwork:members'),
    promoting: key('loopwork:promoting'),
    groupPrefix: key('loopwork:group:'),
    jobPrefix: key(''),
    marker: key('marker'),
    delayed: key('delayed'),
    prioritized: key('prioritized'),
    priorityCounter: key('pc'),
    dedupePrefix: key('de:'),
  };
}

/** What {@link bullQueues} needs from the adapter's options. */
export interface BullQueuesOptions {
  client: Redis;
  prefix: string;
  queueName?: ((queue: string) => string) | undefined;
  stalledIntervalMs: number;
  onError: (error: Error) => void;
}

/**
 * The BullMQ side of the adapter, per loopwork queue and made on first use: the queue name
 * mapping, the key names, a BullMQ `Queue` to add jobs and a `Worker` to take and settle them.
 * All share the adapter's one client; BullMQ never closes a client it was handed.
 */
export function bullQueues(options: BullQueuesOptions) {
  const { client, prefix, onError } = options;
  const keyNames = new QueueKeys(prefix);
  const bindings = new Map<string, BullBinding>();
  const loopworkNameOf = new Map<string, string>();
  let closed = false;

  function binding(name: string): BullBinding {
    const known = bindings.get(name);
    if (known) return known;
    const bull = options.queueName ? options.queueName(name) : name.replaceAll(':', '.');
    if (typeof bull !== 'string' || bull === '' || bull.includes(':')) {
      throw new InvalidOptionError(
        `[loopwork:bullmq] queue "${name}" maps to the BullMQ queue name ${JSON.stringify(bull)}, which must be a non-empty string without ":"`,
      );
    }
    const other = loopworkNameOf.get(bull);
    if (other !== undefined) {
      throw new InvalidOptionError(
        `[loopwork:bullmq] queues "${other}" and "${name}" both map to the BullMQ queue "${bull}"; give them distinct names (see the queueName option)`,
      );
    }
    loopworkNameOf.set(bull, name);
    const created: BullBinding = { bull, keys: queueKeys(keyNames, bull) };
    bindings.set(name, created);
    return created;
  }

  function assertOpen(): void {
    if (closed) throw new InvalidOptionError('[loopwork:bullmq] the queue is closed');
  }

  return {
    binding,
    assertOpen,

    producer(name: string): BullQueue {
      const bound = binding(name);
      if (!bound.producer) {
        assertOpen();
        bound.producer = new BullQueue(bound.bull, { connection: client, prefix });
        bound.producer.on('error', onError);
      }
      return bound.producer;
    },

    /**
     * The queue's BullMQ worker, for manual processing only: no processor, no blocking
     * connection (claims wait on their own, see marker-wait.ts), and its stalled-job check on.
     */
    consumer(name: string, lockDuration = 30_000): BullWorker {
      const bound = binding(name);
      if (!bound.consumer) {
        assertOpen();
        const worker = new BullWorker(
          bound.bull,
          null,
          {
            connection: client,
            prefix,
            autorun: false,
            lockDuration,
            stalledInterval: options.stalledIntervalMs,
            // loopwork counts deliveries (maxDeliveries); BullMQ must never fail a stalled job.
            maxStalledCount: Number.MAX_SAFE_INTEGER,
          },
          (queueName, workerOptions) => createRedisBackend(queueName, workerOptions),
        );
        worker.on('error', onError);
        worker.startStalledCheckTimer().catch(onError);
        bound.consumer = worker;
      }
      return bound.consumer;
    },

    /** Closes every BullMQ object; later use throws. */
    close(): Promise<unknown> {
      closed = true;
      return Promise.allSettled(
        [...bindings.values()].flatMap((bound) => [
          bound.consumer?.close(),
          bound.producer?.close(),
        ]),
      );
    },
  };
}
