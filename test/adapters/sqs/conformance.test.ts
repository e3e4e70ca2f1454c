// The queue conformance suite against SQS, on fauxqs (an emulator speaking the AWS JSON protocol
// to the real @aws-sdk/client-sqs), started in this process on a free port. Standard and FIFO
// queues each run the whole suite; the capabilities SQS lacks are tested for a clear refusal
// (standard: priority, dedupe, groups; FIFO: priority, dedupe, per-message delay).
//
// Where fauxqs differs from AWS, the adapter follows AWS and works on both:
// - a stale or expired receipt handle: fauxqs answers MessageNotInflight, AWS accepts an expired
//   one (and a stale one on standard queues may even act). The adapter times leases itself and
//   refuses a lapsed receipt before asking SQS, so the stale-receipt tests hold on either.
// - characters beyond U+FFFF (the emoji of the exact-body test): AWS accepts them, fauxqs rejects
//   them; the adapter base64-encodes such bodies, which AWS accepts too.
import { createSqsQueue } from 'loopwork/sqs';
import { lifecycleConformance, queueConformance } from 'loopwork/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createQueue, type Emulator, startEmulator } from '../../helpers/fauxqs';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator?.stop());

// SQS counts visibility and delays in whole seconds: a one-second lease, and slack to match.
const timing = { leaseMs: 1_000, settleMs: 700 };

for (const fifo of [false, true]) {
  const suffix = fifo ? '.fifo' : '';
  describe(fifo ? 'FIFO queues' : 'standard queues', () => {
    queueConformance({
      describe,
      it,
      timing,
      createQueue: async (options) =>
        createSqsQueue({
          client: emulator.sqs,
          fifo,
          // The suite invents queue names; create each queue (and its dead-letter queue) on first use.
          queueUrl: (name) => createQueue(emulator.sqs, `${name}${suffix}`),
          deadLetterQueueUrl: (name) => createQueue(emulator.sqs, `${name}-dlq${suffix}`),
          ...options,
        }),
    });
    lifecycleConformance({
      describe,
      it,
      timing,
      createQueue: async () =>
        createSqsQueue({
          client: emulator.sqs,
          fifo,
          queueUrl: (name) => createQueue(emulator.sqs, `${name}${suffix}`),
          deadLetterQueueUrl: (name) => createQueue(emulator.sqs, `${name}-dlq${suffix}`),
        }),
    });
  });
}
