// What the SQS adapter does beyond the conformance suite: size limits and offloading to a blob
// store, delays, whole-second leases, the 12-hour cap through the adapter, queue names, the
// redrive policy as the dead-letter queue, and stale receipts where fauxqs and AWS differ.
import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import {
  type ClaimedMessage,
  createMemoryBlobStore,
  InvalidOptionError,
  LeaseLostError,
} from 'loopwork';
import { createSqsQueue, type SqsQueueOptions } from 'loopwork/sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqsQueueName } from '../../../adapters/sqs/message-codec';
import { createQueue, type Emulator, startEmulator } from '../../helpers/fauxqs';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator?.stop());

const lease = { consumer: 'c1', leaseMs: 30_000 };
const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** A fresh queue (and dead-letter queue) with these attributes, and an adapter for it. */
async function fresh(
  attributes: Record<string, string> = {},
  options: Partial<SqsQueueOptions> = {},
) {
  const name = unique('sqs');
  const url = await createQueue(emulator.sqs, name, attributes);
  const dlqUrl = await createQueue(emulator.sqs, `${name}-dlq`);
  const queue = createSqsQueue({
    client: emulator.sqs,
    queueUrl: () => url,
    deadLetterQueueUrl: () => dlqUrl,
    ...options,
  });
  return { name, url, queue };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: Error) => error,
  );
}

async function claimOne(queue: ReturnType<typeof createSqsQueue>, name: string, leaseMs = 30_000) {
  const [message] = await queue.claim([name], { consumer: 'c1', leaseMs, waitMs: 3_000 });
  expect(message, 'a message was claimed').toBeDefined();
  return message as ClaimedMessage;
}

describe('message size', () => {
  it("refuses a body over the queue's MaximumMessageSize, naming the limit, and enqueues nothing", async () => {
    const { name, queue } = await fresh({ MaximumMessageSize: '262144' });
    const error = await rejection(queue.enqueue(name, 'x'.repeat(300 * 1024)));
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(
      /^\[loopwork:sqs\] a message of \d+ bytes \(body and attributes\) is larger than queue "sqs-\w+" accepts \(MaximumMessageSize 262144 bytes\); pass blobStore/,
    );
    expect(await queue.claim([name], { ...lease, waitMs: 0 })).toEqual([]);
  });

  it('counts the attributes too: a body just under the limit is refused when its attributes push it over', async () => {
    const { name, queue } = await fresh({ MaximumMessageSize: '1024' });
    const attributesSize = 'loopwork.queue'.length + 'String'.length + name.length;
    await queue.enqueue(name, 'a'.repeat(1024 - attributesSize));
    const error = await rejection(queue.enqueue(name, 'a'.repeat(1024 - attributesSize + 1)));
    expect(error.message).toMatch(/MaximumMessageSize 1024 bytes/);
  });

  it('with a blobStore, a large body goes to the blob store and comes back exactly; ack deletes the blob', async () => {
    const blobStore = createMemoryBlobStore();
    const { name, url, queue } = await fresh({ MaximumMessageSize: '1024' }, { blobStore });
    const body = `{"big":"${'é✓🚀'.repeat(2_000)}"}`;
    const { id } = await queue.enqueue(name, body);
    const keys = await blobStore.list('loopwork/sqs/');
    expect(keys).toHaveLength(1);
    // What sits in SQS is only a pointer, with the key as an attribute.
    const peek = await emulator.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        VisibilityTimeout: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    expect(peek.Messages?.[0]?.Body).toMatch(/^loopwork: body stored in the blob store under/);
    expect(peek.Messages?.[0]?.MessageAttributes?.['loopwork.blob']?.StringValue).toBe(keys[0]);
    const message = await claimOne(queue, name);
    expect([message.id, message.body]).toEqual([id, body]);
    await queue.ack(message);
    expect(await blobStore.list('loopwork/sqs/')).toEqual([]);
  });

  it('a dead-lettered offloaded message keeps its blob, and deadLetters reads the body back', async () => {
    const blobStore = createMemoryBlobStore();
    const { name, queue } = await fresh({ MaximumMessageSize: '1024' }, { blobStore });
    const body = 'y'.repeat(5_000);
    await queue.enqueue(name, body);
    await queue.deadLetter(await claimOne(queue, name), 'too big to handle');
    const dead = await queue.deadLetters(name);
    expect(dead.map((d) => [d.body.length, d.reason])).toEqual([[5_000, 'too big to handle']]);
    expect(await blobStore.list('loopwork/sqs/')).toHaveLength(1);
  });
});

describe('removeDeadLetter', () => {
  it('removes a letter the redrive policy moved and a copy the adapter made, from a dead-letter queue two queues share', async () => {
    const name = unique('rm');
    const other = unique('rm-other');
    const dlqUrl = await createQueue(emulator.sqs, `${name}-dlq`);
    const dlqArn = (
      await emulator.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
      )
    ).Attributes?.QueueArn;
    const policy = JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 });
    const urls: Record<string, string> = {
      [name]: await createQueue(emulator.sqs, name, { RedrivePolicy: policy }),
      [other]: await createQueue(emulator.sqs, other, { RedrivePolicy: policy }),
    };
    const queue = createSqsQueue({ client: emulator.sqs, queueUrl: (n) => urls[n]! });
    const { id: copied } = await queue.enqueue(name, 'copied');
    await queue.deadLetter(await claimOne(queue, name), 'bad input');
    // Moved by the redrive policy after one receive: no loopwork attributes but its queue's.
    const { id: moved } = await queue.enqueue(name, 'moved');
    await queue.release(await claimOne(queue, name));
    expect(await queue.claim([name], { ...lease, waitMs: 1_000 })).toEqual([]);
    const { id: elsewhere } = await queue.enqueue(other, 'elsewhere');
    await queue.deadLetter(await claimOne(queue, other), 'other queue');
    expect((await queue.deadLetters(name)).map((d) => d.id)).toEqual([copied, moved]);

    expect(await queue.removeDeadLetter?.(other, moved), 'only from its own queue').toBe(false);
    expect(await queue.removeDeadLetter?.(name, moved)).toBe(true);
    // The messages received on the way are visible again at once, not after the peek's 30 s.
    expect((await queue.deadLetters(name)).map((d) => d.id)).toEqual([copied]);
    expect((await queue.deadLetters(other)).map((d) => d.id)).toEqual([elsewhere]);
    expect(await queue.removeDeadLetter?.(name, copied)).toBe(true);
    expect(await queue.removeDeadLetter?.(name, copied)).toBe(false);
    expect(await queue.deadLetters(name)).toEqual([]);
    expect((await queue.deadLetters(other)).map((d) => d.id)).toEqual([elsewhere]);
  });

  it("deletes an offloaded body's blob with its letter", async () => {
    const blobStore = createMemoryBlobStore();
    const { name, queue } = await fresh({ MaximumMessageSize: '1024' }, { blobStore });
    const { id } = await queue.enqueue(name, 'z'.repeat(5_000));
    await queue.deadLetter(await claimOne(queue, name), 'too big');
    expect(await blobStore.list('loopwork/sqs/')).toHaveLength(1);
    expect(await queue.removeDeadLetter?.(name, id)).toBe(true);
    expect(await blobStore.list('loopwork/sqs/')).toEqual([]);
  });

  it('without any dead-letter queue there is no letter to remove: false, as deadLetters is empty', async () => {
    const name = unique('nodlq');
    const url = await createQueue(emulator.sqs, name);
    const queue = createSqsQueue({ client: emulator.sqs, queueUrl: () => url });
    expect(await queue.removeDeadLetter?.(name, 'any')).toBe(false);
  });
});

describe('bodies SQS would reject', () => {
  it('empty bodies, control characters, lone surrogates and emoji come back exactly', async () => {
    const { name, queue } = await fresh();
    // AWS rejects the empty body, NUL and other control characters and lone surrogates; fauxqs also
    // rejects characters beyond U+FFFF, which AWS accepts. The adapter encodes all of them.
    const bodies = ['', '\u0000nul', 'bell\u0007', 'lone \ud800 surrogate', 'rocket 🚀', 'plain'];
    for (const body of bodies) await queue.enqueue(name, body);
    const got: string[] = [];
    while (got.length < bodies.length) {
      for (const message of await queue.claim([name], { ...lease, max: 10, waitMs: 2_000 })) {
        got.push(message.body);
        await queue.ack(message);
      }
    }
    expect(got.sort()).toEqual([...bodies].sort());
  });

  it('tags task envelopes with their task type and every message with its queue name', async () => {
    const { name, url, queue } = await fresh();
    await queue.enqueue(
      name,
      JSON.stringify({
        v: 1,
        type: 'summarize',
        runId: 'r1',
        attempt: 1,
        payload: {},
        dispatchedAt: 1,
      }),
    );
    const out = await emulator.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        VisibilityTimeout: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    const attributes = out.Messages?.[0]?.MessageAttributes ?? {};
    expect([
      attributes['loopwork.type']?.StringValue,
      attributes['loopwork.queue']?.StringValue,
    ]).toEqual(['summarize', name]);
  });
});

describe('delays and leases in whole seconds', () => {
  it('a delay is rounded up to whole seconds; longer than 900 s is refused naming delayMs', async () => {
    const { name, queue } = await fresh();
    const before = Date.now();
    await queue.enqueue(name, 'later', { delayMs: 1_500 });
    const delayed = emulator.server.inspectQueue(name)?.messages.delayed ?? [];
    expect(delayed).toHaveLength(1);
    expect(delayed[0]!.delayUntil! - before).toBeGreaterThanOrEqual(2_000);
    const error = await rejection(queue.enqueue(name, 'much later', { delayMs: 901_000 }));
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/delayMs of 901000 ms .*DelaySeconds 900/);
  });

  it('a lease is rounded up to whole seconds of visibility', async () => {
    const { name, queue } = await fresh();
    await queue.enqueue(name, 'work');
    const before = Date.now();
    await claimOne(queue, name, 1_500);
    const [inflight] = emulator.server.inspectQueue(name)?.messages.inflight ?? [];
    expect(inflight!.visibilityDeadline - before).toBeGreaterThanOrEqual(2_000);
  });

  it('a long poll that waited for its message pins the lease, so an ack right after it holds', async () => {
    const { name, queue } = await fresh();
    const waiting = queue.claim([name], { consumer: 'c1', leaseMs: 1_000, waitMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    await queue.enqueue(name, 'late arrival');
    const [message] = await waiting;
    // Taken from the request's start, the 1 s lease would look over before the answer arrived.
    await queue.ack(message!);
  });

  it("a caller's signal ends a waiting claim; what its poll takes afterwards is released at once", async () => {
    const { name, queue } = await fresh();
    const controller = new AbortController();
    const waiting = queue.claim([name], { ...lease, waitMs: 5_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    expect(await waiting).toEqual([]);
    // SQS's side of the cut-short poll is still waiting, and takes this message under a 30 s
    // lease; the adapter makes it visible again instead of letting it hide for 30 s.
    const { id } = await queue.enqueue(name, 'arrived after the abort');
    const [message] = await queue.claim([name], { ...lease, waitMs: 5_000 });
    expect([message?.id, message?.deliveryCount]).toEqual([id, 2]);
  });
});

describe('the 12-hour visibility cap', () => {
  it('extend past 12 hours from the receive is refused with LeaseLostError; within it, granted', async () => {
    const { name, queue } = await fresh();
    await queue.enqueue(name, 'marathon');
    const message = await claimOne(queue, name);
    // The same delivery as if it had been received 11 h 59 min 30 s ago.
    const receipt = JSON.parse(message.receipt) as { r: number; x: number };
    const old: ClaimedMessage = {
      ...message,
      receipt: JSON.stringify({ ...receipt, r: Date.now() - (12 * 3_600_000 - 30_000) }),
    };
    const error = await rejection(queue.extend(old, 60_000));
    expect(LeaseLostError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(
      /^\[loopwork:sqs\] cannot extend message .*: SQS keeps a message invisible for at most 12 hours/,
    );
    await queue.extend(old, 20_000);
    await queue.ack(old);
  });
});

describe('extendMany', () => {
  it('renews 14 leases in ChangeMessageVisibilityBatch calls of 10; a message SQS no longer holds is false, one at its 12-hour cap too', async () => {
    const { name, url, queue } = await fresh();
    for (let i = 0; i < 14; i++) await queue.enqueue(name, `m${i}`);
    const held: ClaimedMessage[] = [];
    while (held.length < 14) {
      held.push(
        ...(await queue.claim([name], { consumer: 'c1', leaseMs: 2_000, max: 10, waitMs: 3_000 })),
      );
    }
    // Deleted through another adapter instance: this one still thinks it holds the message, so
    // only SQS's answer (a Failed entry for the receipt handle) can say it is gone.
    const other = createSqsQueue({ client: emulator.sqs, queueUrl: () => url });
    await other.ack(held[3]!);
    const receipt = JSON.parse(held[5]!.receipt) as { r: number };
    const capped: ClaimedMessage = {
      ...held[5]!,
      receipt: JSON.stringify({ ...receipt, r: Date.now() - (12 * 3_600_000 - 10_000) }),
    };
    const batch = [...held.slice(0, 5), capped, ...held.slice(6)];
    const sent: number[] = [];
    emulator.sqs.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ChangeMessageVisibilityBatchCommand')
          sent.push((args.input as { Entries: unknown[] }).Entries.length);
        return next(args);
      },
      { step: 'initialize', name: 'countVisibilityBatches' },
    );
    try {
      const answers = await queue.extendMany!(batch, 30_000);
      expect(answers).toEqual(batch.map((_, i) => i !== 3 && i !== 5));
    } finally {
      emulator.sqs.middlewareStack.remove('countVisibilityBatches');
    }
    // 13 asked of SQS (the capped one is refused before): a call of 10 and one of 3.
    expect(sent.sort((a, b) => a - b)).toEqual([3, 10]);
    // Past the first 2-second lease, only the message that was not renewed comes back.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const again = await queue.claim([name], {
      consumer: 'c2',
      leaseMs: 30_000,
      max: 10,
      waitMs: 1_000,
    });
    expect(again.map((message) => message.id)).toEqual([held[5]!.id]);
  });
});

describe('stale receipts, where fauxqs and AWS differ', () => {
  it('a receipt whose lease ran out is refused by the adapter itself, even before anyone took the message again', async () => {
    const { name, queue } = await fresh();
    await queue.enqueue(name, 'slow');
    const message = await claimOne(queue, name, 1_000);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    // AWS would accept this expired receipt handle (fauxqs answers MessageNotInflight); either way
    // the message may already be with another consumer, so the adapter refuses by its own clock.
    for (const operation of [
      () => queue.ack(message),
      () => queue.extend(message, 30_000),
      () => queue.release(message),
    ]) {
      const error = await rejection(operation());
      expect(LeaseLostError.isInstance(error)).toBe(true);
      expect(error.message).toMatch(/its lease ran out/);
    }
    const again = await claimOne(queue, name);
    expect([again.id, again.deliveryCount]).toEqual([message.id, 2]);
  });

  it('a settled delivery cannot be settled again', async () => {
    const { name, queue } = await fresh();
    await queue.enqueue(name, 'once');
    const message = await claimOne(queue, name);
    await queue.ack(message);
    const error = await rejection(queue.ack(message));
    expect(LeaseLostError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/already settled/);
  });
});

describe('queues and dead-letter queues', () => {
  it('maps loopwork names to SQS names by default, and says which SQS queue is missing', async () => {
    expect(sqsQueueName('loopwork:tasks:summarize', false)).toBe('loopwork-tasks-summarize');
    expect(sqsQueueName('orders', true)).toBe('orders.fifo');
    expect(sqsQueueName('orders.fifo', true)).toBe('orders.fifo');
    expect(sqsQueueName('x'.repeat(81), false)).toBeUndefined();
    const type = unique('t');
    await createQueue(emulator.sqs, `loopwork-tasks-${type}`);
    const queue = createSqsQueue({ client: emulator.sqs });
    await queue.enqueue(`loopwork:tasks:${type}`, 'found by name');
    expect((await claimOne(queue, `loopwork:tasks:${type}`)).body).toBe('found by name');
    const error = await rejection(queue.enqueue('loopwork:tasks:nowhere', 'lost'));
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toBe(
      '[loopwork:sqs] queue "loopwork:tasks:nowhere" has no SQS queue "loopwork-tasks-nowhere": create it, or pass queueUrl to map queue names to URLs',
    );
  });

  it('refuses a queue of the other type', async () => {
    const name = unique('std');
    const url = await createQueue(emulator.sqs, name);
    const queue = createSqsQueue({ client: emulator.sqs, fifo: true, queueUrl: () => url });
    const error = await rejection(queue.enqueue(name, 'x', { groupId: 'g' }));
    expect(error.message).toMatch(
      /is a standard queue, but this adapter was created for FIFO queues/,
    );
  });

  it('dead-letters into the target of the queue’s redrive policy when no dead-letter queue is given', async () => {
    const name = unique('redrive');
    const dlqUrl = await createQueue(emulator.sqs, `${name}-dlq`);
    const dlqArn = (
      await emulator.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
      )
    ).Attributes?.QueueArn;
    const url = await createQueue(emulator.sqs, name, {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }),
    });
    const queue = createSqsQueue({ client: emulator.sqs, queueUrl: () => url });
    const { id } = await queue.enqueue(name, 'bad');
    await queue.deadLetter(await claimOne(queue, name), 'bad input: field x');
    // And one the redrive policy moves by itself, after its maxReceiveCount receives.
    const { id: id2 } = await queue.enqueue(name, 'flaky');
    for (let i = 0; i < 2; i++) await queue.release(await claimOne(queue, name));
    expect(await queue.claim([name], { ...lease, waitMs: 1_000 })).toEqual([]);
    const dead = await queue.deadLetters(name);
    expect(dead.map((d) => [d.id, d.body, d.deliveryCount])).toEqual([
      [id, 'bad', 1],
      [id2, 'flaky', 2],
    ]);
    expect(dead[0]!.reason).toBe('bad input: field x');
    expect(dead[1]!.reason).toMatch(/redrive policy of "redrive-\w+" after 2 receives/);
    // Listing does not consume: the letters are all there the next time.
    expect(await queue.deadLetters(name)).toHaveLength(2);
  });

  it('without any dead-letter queue, deadLetter is refused clearly and deadLetters is empty', async () => {
    const name = unique('nodlq');
    const url = await createQueue(emulator.sqs, name);
    const queue = createSqsQueue({ client: emulator.sqs, queueUrl: () => url });
    await queue.enqueue(name, 'nowhere to go');
    const error = await rejection(queue.deadLetter(await claimOne(queue, name), 'why'));
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(
      /has no dead-letter queue: give it a redrive policy .* or pass deadLetterQueueUrl/,
    );
    expect(await queue.deadLetters(name)).toEqual([]);
  });

  it('a message that cannot be dead-lettered on receive is reported, and does not fail the claim', async () => {
    const name = unique('nodlq');
    const url = await createQueue(emulator.sqs, name);
    const errors: unknown[] = [];
    const queue = createSqsQueue({
      client: emulator.sqs,
      queueUrl: () => url,
      maxDeliveries: 1,
      onError: (error) => errors.push(error),
    });
    await queue.enqueue(name, 'doomed');
    await queue.release(await claimOne(queue, name));
    await queue.enqueue(name, 'fine');
    const got = await queue.claim([name], { ...lease, max: 10, waitMs: 1_000 });
    expect(got.map((m) => m.body)).toEqual(['fine']);
    expect(String(errors[0])).toMatch(/queue "nodlq-\w+" has no dead-letter queue/);
  });

  it('refuses bad options at creation', () => {
    expect(() => createSqsQueue({ client: emulator.sqs, maxWaitSeconds: 21 })).toThrow(
      /maxWaitSeconds must be an integer from 0 to 20, got 21/,
    );
    expect(() => createSqsQueue({ client: emulator.sqs, maxDeliveries: 0 })).toThrow(
      /maxDeliveries must be a positive integer, got 0/,
    );
  });
});
