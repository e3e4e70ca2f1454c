import assert from 'node:assert/strict';
import { InvalidOptionError } from '../../errors';
import type {
  ClaimedMessage,
  ClaimOptions,
  EnqueueOptions,
  Queue,
  QueueCapabilities,
} from '../../queue/queue';
import { type ConformanceRunner, defineTest, type Timing, uniqueName } from './harness';

/** What {@link QueueConformanceOptions.createQueue} is asked to build. */
export interface QueueFactoryOptions {
  /** Set only by the dead-letter-after-N test: build the queue so it dead-letters on the Nth delivery. */
  maxDeliveries?: number;
}

/** One queue test's subject: a fresh queue and a queue name nobody else uses. */
export interface QueueSubject {
  queue: Queue;
  /** A unique queue name for this test; `name2` is a second one. */
  name: string;
  name2: string;
  capabilities: QueueCapabilities;
}

/** What the queue test groups share: registration and timing. */
export interface QueueSuite {
  timing: Timing;
  maxDeliveries: number;
  /**
   * Registers a test; with `needs`, an adapter that lacks that capability must instead refuse the
   * option with an InvalidOptionError (never ignore it silently), and that is what is tested.
   */
  test(
    name: string,
    body: (subject: QueueSubject) => Promise<void>,
    options?: { needs?: keyof QueueCapabilities; factory?: QueueFactoryOptions },
  ): void;
}

export function queueSuite(options: {
  it: ConformanceRunner['it'];
  createQueue: (options: QueueFactoryOptions) => Promise<Queue>;
  cleanup?: ((queue: Queue) => Promise<void>) | undefined;
  capabilities?: Partial<QueueCapabilities> | undefined;
  timing: Timing;
  maxDeliveries: number;
}): QueueSuite {
  return {
    timing: options.timing,
    maxDeliveries: options.maxDeliveries,
    test(name, body, testOptions = {}) {
      defineTest(
        options.it,
        name,
        async (): Promise<QueueSubject> => {
          const queue = await options.createQueue(testOptions.factory ?? {});
          const capabilities = { ...queue.capabilities, ...options.capabilities };
          return {
            queue,
            name: uniqueName('conformance'),
            name2: uniqueName('conformance'),
            capabilities,
          };
        },
        async ({ queue }) => {
          try {
            await options.cleanup?.(queue);
          } finally {
            await queue.close();
          }
        },
        async (subject) => {
          const needs = testOptions.needs;
          if (needs && !subject.capabilities[needs]) await refusesUnsupported(subject, needs);
          else await body(subject);
        },
      );
    },
  };
}

/** The enqueue option each capability adds; an adapter without the capability must refuse it. */
const OPTION_OF: Record<keyof QueueCapabilities, [string, EnqueueOptions]> = {
  priority: ['priority', { priority: 'high' }],
  delay: ['delayMs', { delayMs: 60_000 }],
  dedupe: ['dedupeId', { dedupeId: 'conformance-dedupe' }],
  groups: ['groupId', { groupId: 'conformance-group' }],
};

/** An adapter without `capability` refuses its option clearly, naming it, and enqueues nothing. */
async function refusesUnsupported(
  subject: QueueSubject,
  capability: keyof QueueCapabilities,
): Promise<void> {
  const [option, enqueueOptions] = OPTION_OF[capability];
  const error = await subject.queue.enqueue(subject.name, 'unsupported', enqueueOptions).then(
    () =>
      assert.fail(
        `the adapter lacks ${capability}, so enqueue with ${option} must reject, but it resolved`,
      ),
    (thrown: unknown) => thrown,
  );
  assert.ok(
    InvalidOptionError.isInstance(error),
    `expected an InvalidOptionError, got ${String(error)}`,
  );
  assert.match(error.message, new RegExp(option), `the error names the option ${option}`);
  const claimed = await subject.queue.claim([subject.name], { consumer: 'c1', leaseMs: 60_000 });
  assert.deepEqual(claimed, [], 'a refused enqueue adds no message');
}

/** Claims until at least one message arrives; fails when none does within the patience bound. */
export async function claimEventually(
  queue: Queue,
  queues: readonly string[],
  claim: Omit<ClaimOptions, 'waitMs'>,
  timing: Timing,
): Promise<ClaimedMessage[]> {
  const deadline = Date.now() + timing.patienceMs;
  for (;;) {
    const remaining = deadline - Date.now();
    const waitMs = Math.max(0, Math.min(remaining, timing.settleMs));
    const messages = await queue.claim(queues, { ...claim, waitMs });
    if (messages.length > 0) return messages;
    if (remaining <= 0) {
      throw new assert.AssertionError({
        message: `no message could be claimed from ${queues.join(', ')} within ${timing.patienceMs} ms`,
      });
    }
  }
}

/** Claims for `settleMs` and asserts that nothing was delivered. */
export async function claimNothing(
  queue: Queue,
  queues: readonly string[],
  timing: Timing,
  why: string,
  claim: Partial<ClaimOptions> = {},
): Promise<void> {
  const messages = await queue.claim(queues, {
    consumer: 'conformance-observer',
    leaseMs: timing.leaseMs,
    ...claim,
    waitMs: timing.settleMs,
  });
  assert.deepEqual(
    messages.map((m) => m.body),
    [],
    `${why}, but a claim returned ${messages.length} message(s)`,
  );
}

/** Claims one message at a time until `count` arrived, acking each; returns the bodies in order. */
export async function drainInOrder(
  queue: Queue,
  name: string,
  count: number,
  timing: Timing,
): Promise<string[]> {
  const bodies: string[] = [];
  while (bodies.length < count) {
    const [message] = await claimEventually(
      queue,
      [name],
      { consumer: 'c1', leaseMs: 60_000 },
      timing,
    );
    bodies.push(message!.body);
    await queue.ack(message!);
  }
  return bodies;
}
