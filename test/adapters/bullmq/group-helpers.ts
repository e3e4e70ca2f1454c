// Shared by the BullMQ group tests: one adapter per test on its own prefix, and claim helpers.
import type { Redis } from 'ioredis';
import type { ClaimedMessage, ClaimOptions, Queue } from 'loopwork';
import { type BullmqQueueOptions, createBullmqQueue } from 'loopwork/bullmq';

let counter = 0;
export const unique = (what: string) => `${what}-${process.pid}-${++counter}`;

/** Opens adapters and closes them all at once (call `closeAll` in afterEach). */
export function adapters(client: () => Redis) {
  const opened: Array<{ close(): Promise<unknown> }> = [];
  return {
    /** A fresh adapter on a fresh prefix (or the one given); the stalled check and sweep every 50 ms. */
    open(options: Partial<BullmqQueueOptions> = {}): { queue: Queue; prefix: string } {
      const prefix = options.prefix ?? unique('p');
      const queue = createBullmqQueue({
        connection: client(),
        prefix,
        stalledIntervalMs: 50,
        ...options,
      });
      opened.push(queue);
      return { queue, prefix };
    },
    /** Closes `closable` with the others after the test. */
    track<T extends { close(): Promise<unknown> }>(closable: T): T {
      opened.push(closable);
      return closable;
    },
    closeAll: () => Promise.all(opened.splice(0).map((closable) => closable.close())),
  };
}

/** Claims until one message arrives (at most 10 s). */
export async function claimOne(
  queue: Queue,
  name: string,
  claim: Partial<ClaimOptions> = {},
): Promise<ClaimedMessage> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const [message] = await queue.claim([name], {
      consumer: 'test',
      leaseMs: 60_000,
      waitMs: 1_000,
      ...claim,
    });
    if (message) return message;
  }
  throw new Error(`no message on ${name} within 10 s`);
}

/**
 * Claims one message at a time and acks it until `count` came, then checks that nothing else
 * comes; returns the bodies in delivery order.
 */
export async function drain(queue: Queue, name: string, count: number): Promise<string[]> {
  const bodies: string[] = [];
  while (bodies.length < count) {
    const message = await claimOne(queue, name);
    bodies.push(message.body);
    await queue.ack(message);
  }
  const extra = await queue.claim([name], { consumer: 'test', leaseMs: 60_000, waitMs: 300 });
  bodies.push(...extra.map((message) => `unexpected: ${message.body}`));
  return bodies;
}
