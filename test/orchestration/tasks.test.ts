import { defineTask, InvalidOptionError, InvalidPayloadError, type TaskEnvelope } from 'loopwork';
import { parseEnvelope } from 'loopwork/adapter-kit';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { memorySetup, rejectionOf } from './helpers';

const schema = z.object({ url: z.string().url() });

describe('defineTask', () => {
  it.each([
    ['type', { type: '' }, /^type must be/],
    ['type', { type: 'has space' }, /^type must be .*got "has space"/],
    ['type', { type: '-leading-dash' }, /^type must be/],
    ['payload', { payload: { not: 'a schema' } }, /^payload of task "fetch" must be a zod schema/],
    ['payload', { payload: undefined }, /^payload of task "fetch"/],
    [
      'timeoutMs',
      { timeoutMs: 0 },
      /^timeoutMs of task "fetch" must be a positive integer, got 0$/,
    ],
    ['timeoutMs', { timeoutMs: 1.5 }, /^timeoutMs of task "fetch" .* got 1\.5$/],
    ['maxAttempts', { maxAttempts: -1 }, /^maxAttempts of task "fetch" .* got -1$/],
    [
      'retryBackoff.minDelayMs',
      { retryBackoff: { minDelayMs: -5, maxDelayMs: 10 } },
      /^retryBackoff\.minDelayMs of task "fetch" must be a non-negative integer, got -5$/,
    ],
    [
      'retryBackoff.maxDelayMs',
      { retryBackoff: { minDelayMs: 5, maxDelayMs: Number.NaN } },
      /^retryBackoff\.maxDelayMs .* got NaN$/,
    ],
    [
      'retryBackoff.minDelayMs',
      { retryBackoff: { minDelayMs: 50, maxDelayMs: 10 } },
      /^retryBackoff\.minDelayMs .* must not exceed maxDelayMs/,
    ],
    ['priority', { priority: 'urgent' }, /^priority of task "fetch" must be .*got "urgent"$/],
    ['queue', { queue: '' }, /^queue of task "fetch" must be a non-empty string/],
  ])('refuses a bad %s with an InvalidOptionError naming it', (_option, bad, message) => {
    let thrown: unknown;
    try {
      defineTask({ type: 'fetch', payload: schema, ...bad } as never);
    } catch (error) {
      thrown = error;
    }
    expect(InvalidOptionError.isInstance(thrown)).toBe(true);
    expect((thrown as Error).message).toMatch(message);
  });

  it('fills in routing and retry defaults', () => {
    const task = defineTask({ type: 'fetch', payload: schema });
    expect(task).toMatchObject({
      type: 'fetch',
      queue: 'loopwork:tasks:fetch',
      timeoutMs: 1_800_000,
      maxAttempts: 3,
      priority: 'normal',
    });
    expect([1, 2, 3, 7, 8].map(task.retryDelayMs)).toEqual([1_000, 2_000, 4_000, 60_000, 60_000]);
    const custom = defineTask({
      type: 'fetch.v2',
      payload: schema,
      queue: 'shared',
      retryBackoff: { minDelayMs: 10, maxDelayMs: 25 },
    });
    expect(custom.queue).toBe('shared');
    expect([1, 2, 3].map(custom.retryDelayMs)).toEqual([10, 20, 25]);
  });
});

describe('dispatcher', () => {
  const signup = defineTask({
    type: 'signup',
    payload: z.object({
      user: z.object({ email: z.string().email(), name: z.string().min(1) }),
      plan: z.enum(['free', 'pro']).default('free'),
    }),
  });

  it('refuses an invalid payload with an InvalidPayloadError naming the field; nothing is recorded or enqueued', async () => {
    const { dispatcher, queue, runs } = memorySetup();
    const error = await rejectionOf(() =>
      dispatcher.dispatch(signup, { user: { email: 'not-an-email', name: 'Ada' } } as never, {
        runId: 'r-bad',
      }),
    );
    expect(InvalidPayloadError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/^payload of task "signup" is invalid: user\.email: /);
    expect(error.message).not.toMatch(/user\.name/);

    const missing = await rejectionOf(() =>
      dispatcher.dispatch(signup, { user: { email: 'a@b.co' } } as never, { runId: 'r-bad-2' }),
    );
    expect(missing.message).toMatch(/user\.name: /);

    expect(await runs.get('r-bad')).toBeUndefined();
    expect(await runs.get('r-bad-2')).toBeUndefined();
    expect(await queue.claim([signup.queue], { consumer: 't', leaseMs: 1_000, max: 10 })).toEqual(
      [],
    );
  });

  it('records the run as queued and enqueues an envelope carrying the parsed payload', async () => {
    const { dispatcher, queue, runs } = memorySetup();
    const { runId, deduplicated } = await dispatcher.dispatch(signup, {
      user: { email: 'a@b.co', name: 'Ada' },
    } as never);
    expect(deduplicated).toBe(false);
    expect(runId).toMatch(/^[0-9a-f-]{36}$/);
    const record = await runs.get(runId);
    expect(record).toMatchObject({
      runId,
      taskType: 'signup',
      status: 'queued',
      attempt: 0,
      maxAttempts: 3,
      version: 1,
      payload: { user: { email: 'a@b.co', name: 'Ada' }, plan: 'free' },
    });
    const [message] = await queue.claim([signup.queue], { consumer: 't', leaseMs: 1_000 });
    expect(message?.deliveryCount).toBe(1);
    const envelope = parseEnvelope(message!.body);
    expect(envelope).toMatchObject({
      v: 2,
      type: 'signup',
      runId,
      payload: { user: { email: 'a@b.co', name: 'Ada' }, plan: 'free' },
    } satisfies Partial<TaskEnvelope>);
  });

  it('dispatching the same runId twice is deduplicated: one record, one message', async () => {
    const { dispatcher, queue, runs } = memorySetup();
    const first = await dispatcher.dispatch(
      signup,
      { user: { email: 'a@b.co', name: 'Ada' }, plan: 'pro' },
      { runId: 'r1' },
    );
    const second = await dispatcher.dispatch(
      signup,
      { user: { email: 'other@b.co', name: 'Bob' }, plan: 'free' },
      { runId: 'r1' },
    );
    expect(first).toEqual({ runId: 'r1', deduplicated: false });
    expect(second).toEqual({ runId: 'r1', deduplicated: true });
    expect((await runs.get('r1'))?.payload).toMatchObject({ user: { name: 'Ada' }, plan: 'pro' });
    const messages = await queue.claim([signup.queue], { consumer: 't', leaseMs: 1_000, max: 10 });
    expect(messages).toHaveLength(1);
  });

  it('refuses an empty runId or an unknown priority before recording anything', async () => {
    const { dispatcher, runs } = memorySetup();
    const payload = { user: { email: 'a@b.co', name: 'Ada' } } as never;
    const empty = await rejectionOf(() => dispatcher.dispatch(signup, payload, { runId: '' }));
    expect(InvalidOptionError.isInstance(empty)).toBe(true);
    expect(empty.message).toMatch(/^runId must be a non-empty string/);
    expect(await runs.get('')).toBeUndefined();
    const priority = await rejectionOf(() =>
      dispatcher.dispatch(signup, payload, { runId: 'r2', priority: 'asap' as never }),
    );
    expect(priority.message).toMatch(/^priority must be/);
    expect(await runs.get('r2')).toBeUndefined();
  });

  describe('passes priority, delay and group through to the queue', () => {
    const job = defineTask({ type: 'job', payload: z.object({ n: z.number() }) });
    const urgent = defineTask({
      type: 'urgent-job',
      payload: z.object({ n: z.number() }),
      queue: job.queue,
      priority: 'high',
    });
    const claimRunIds = async (queue: ReturnType<typeof memorySetup>['queue'], max = 10) =>
      (await queue.claim([job.queue], { consumer: 't', leaseMs: 60_000, max })).map(
        (message) => parseEnvelope(message.body).runId,
      );

    it('priority: high before normal before low, each level in dispatch order', async () => {
      const { dispatcher, queue } = memorySetup();
      await dispatcher.dispatch(job, { n: 1 }, { runId: 'low-1', priority: 'low' });
      await dispatcher.dispatch(job, { n: 2 }, { runId: 'normal-1' });
      await dispatcher.dispatch(job, { n: 3 }, { runId: 'high-1', priority: 'high' });
      await dispatcher.dispatch(job, { n: 4 }, { runId: 'normal-2', priority: 'normal' });
      // The task's own default priority applies when the dispatch names none.
      await dispatcher.dispatch(urgent, { n: 5 }, { runId: 'urgent-default' });
      await dispatcher.dispatch(urgent, { n: 6 }, { runId: 'urgent-lowered', priority: 'low' });
      expect(await claimRunIds(queue)).toEqual([
        'high-1',
        'urgent-default',
        'normal-1',
        'normal-2',
        'low-1',
        'urgent-lowered',
      ]);
    });

    it('delay: a delayed run is not claimable until its delay has passed', async () => {
      const { dispatcher, queue } = memorySetup();
      await dispatcher.dispatch(job, { n: 1 }, { runId: 'later', delayMs: 60_000 });
      await dispatcher.dispatch(job, { n: 2 }, { runId: 'soon', delayMs: 30 });
      await dispatcher.dispatch(job, { n: 3 }, { runId: 'now' });
      expect(await claimRunIds(queue)).toEqual(['now']);
      const [message] = await queue.claim([job.queue], {
        consumer: 't',
        leaseMs: 60_000,
        waitMs: 5_000,
      });
      expect(parseEnvelope(message!.body).runId).toBe('soon');
      expect(await claimRunIds(queue)).toEqual([]);
    });

    it('group: runs of one group are leased one at a time, in dispatch order', async () => {
      const { dispatcher, queue, runs } = memorySetup();
      await dispatcher.dispatch(job, { n: 1 }, { runId: 'g-1', groupId: 'conversation-7' });
      await dispatcher.dispatch(job, { n: 2 }, { runId: 'g-2', groupId: 'conversation-7' });
      await dispatcher.dispatch(job, { n: 3 }, { runId: 'solo' });
      expect((await runs.get('g-1'))?.groupId).toBe('conversation-7');
      const first = await queue.claim([job.queue], { consumer: 't', leaseMs: 60_000, max: 10 });
      expect(first.map((m) => parseEnvelope(m.body).runId)).toEqual(['g-1', 'solo']);
      expect(first[0]?.groupId).toBe('conversation-7');
      expect(await claimRunIds(queue)).toEqual([]);
      await queue.ack(first[0]!);
      expect(await claimRunIds(queue)).toEqual(['g-2']);
    });
  });
});

describe('dispatch limits', () => {
  const blob = defineTask({ type: 'blob', payload: z.object({ text: z.string() }) });

  it('refuses a payload over maxPayloadBytes, naming the limit, before anything is written', async () => {
    const { queue, runs, of } = memorySetup();
    const { createDispatcher } = await import('loopwork');
    const dispatcher = createDispatcher({ queue, runs, maxPayloadBytes: 1_000 });
    const error = await rejectionOf(() =>
      dispatcher.dispatch(blob, { text: 'x'.repeat(2_000) }, { runId: 'big' }),
    );
    expect(InvalidPayloadError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(
      /^payload of task "blob" is 2011 bytes of JSON, over maxPayloadBytes \(1000\); put large inputs in a blob store/,
    );
    expect(await runs.get('big')).toBeUndefined();
    expect(await queue.claim([blob.queue], { consumer: 't', leaseMs: 10 })).toEqual([]);
    expect(of('ack')).toEqual([]);
    // The default (1 MiB) takes a 20 MB payload no more than this one.
    const byDefault = createDispatcher({ queue, runs });
    const huge = await rejectionOf(() =>
      byDefault.dispatch(blob, { text: 'x'.repeat(20 * 1024 * 1024) }, { runId: 'huge' }),
    );
    expect(huge.message).toMatch(/over maxPayloadBytes \(1048576\)/);
    expect(await runs.get('huge')).toBeUndefined();
  });

  it('refuses a payload that is not JSON, and a bad maxPayloadBytes', async () => {
    const { queue, runs } = memorySetup();
    const { createDispatcher } = await import('loopwork');
    const anything = defineTask({ type: 'anything', payload: z.any() });
    const error = await rejectionOf(() =>
      createDispatcher({ queue, runs }).dispatch(anything, { n: 10n }, { runId: 'bigint' }),
    );
    expect(InvalidPayloadError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/^payload of task "anything" cannot be serialized as JSON/);
    expect(await runs.get('bigint')).toBeUndefined();
    for (const maxPayloadBytes of [0, -1, 1.5])
      expect(() => createDispatcher({ queue, runs, maxPayloadBytes })).toThrow(
        `maxPayloadBytes must be a positive integer, got ${maxPayloadBytes}`,
      );
  });

  it('refuses a runId that is empty, not a string or absurdly long, and a bad delayMs', async () => {
    const { dispatcher, runs } = memorySetup();
    for (const runId of ['', 'x'.repeat(257), 42 as never]) {
      const error = await rejectionOf(() => dispatcher.dispatch(blob, { text: 'a' }, { runId }));
      expect(InvalidOptionError.isInstance(error)).toBe(true);
      expect(error.message).toMatch(/^runId must be a non-empty string of at most 256 characters/);
    }
    for (const delayMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = await rejectionOf(() =>
        dispatcher.dispatch(blob, { text: 'a' }, { runId: 'd', delayMs }),
      );
      expect(error.message).toBe(`delayMs must be a number >= 0, got ${delayMs}`);
    }
    expect((await runs.list()).runs).toEqual([]);
  });
});
