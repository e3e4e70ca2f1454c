// The Lambda handler with SQS-shaped events: one literal event in the shape of the AWS docs'
// example, and events built from messages really received from fauxqs, the way Lambda's event
// source mapping builds them (so receipt handles work for visibility changes and deletes).
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import {
  createDispatcher,
  createMemoryRunStore,
  defineTask,
  handleTask,
  type RunStore,
} from 'loopwork';
import { parseEnvelope } from 'loopwork/adapter-kit';
import { createSqsLambdaHandler, createSqsQueue, type SqsEvent } from 'loopwork/sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, type Emulator, startEmulator } from '../../helpers/fauxqs';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator?.stop());

const MAX_RECEIVE_COUNT = 3;

/** A queue with a dead-letter queue behind a redrive policy, as a Lambda source should have. */
async function queuePair(fifo = false) {
  const name = `lambda-${randomUUID().slice(0, 8)}`;
  const suffix = fifo ? '.fifo' : '';
  const dlqUrl = await createQueue(emulator.sqs, `${name}-dlq${suffix}`);
  const dlqArn = await arnOf(dlqUrl);
  const url = await createQueue(emulator.sqs, `${name}${suffix}`, {
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: MAX_RECEIVE_COUNT,
    }),
  });
  return { name, url, arn: await arnOf(url), dlqUrl };
}

async function arnOf(url: string): Promise<string> {
  const out = await emulator.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return out.Attributes?.QueueArn as string;
}

/** What Lambda's poller does: receive a batch and turn it into the event the function gets. */
async function receiveEvent(url: string, arn: string, max = 10): Promise<SqsEvent> {
  const out = await emulator.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: max,
      VisibilityTimeout: 30,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  return { Records: (out.Messages ?? []).map((message) => toRecord(message, arn)) };
}

function toRecord(message: Message, arn: string): SqsEvent['Records'][number] {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId as string,
    receiptHandle: message.ReceiptHandle as string,
    body: message.Body as string,
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount as string,
      SentTimestamp: attributes.SentTimestamp as string,
      SenderId: attributes.SenderId as string,
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp as string,
      ...(attributes.MessageGroupId ? { MessageGroupId: attributes.MessageGroupId } : {}),
      ...(attributes.MessageDeduplicationId
        ? { MessageDeduplicationId: attributes.MessageDeduplicationId }
        : {}),
      ...(attributes.SequenceNumber ? { SequenceNumber: attributes.SequenceNumber } : {}),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          stringValue: value.StringValue as string,
          stringListValues: [],
          binaryListValues: [],
          dataType: value.DataType as string,
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody as string,
    md5OfMessageAttributes: message.MD5OfMessageAttributes ?? null,
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: 'us-east-1',
  };
}

/** After the function returns, Lambda deletes every record it did not report failed. */
async function lambdaDeletes(url: string, event: SqsEvent, failed: string[]): Promise<void> {
  const done = event.Records.filter((record) => !failed.includes(record.messageId));
  if (done.length === 0) return;
  await emulator.sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: url,
      Entries: done.map((record, i) => ({ Id: `d${i}`, ReceiptHandle: record.receiptHandle })),
    }),
  );
}

async function queueCounts(url: string) {
  const out = await emulator.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(out.Attributes?.ApproximateNumberOfMessages),
    inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

const failures = (response: { batchItemFailures: Array<{ itemIdentifier: string }> }) =>
  response.batchItemFailures.map((failure) => failure.itemIdentifier);

/** An echo task on `queue`: records what ran; fails the first `failFirst` deliveries; may wait for its signal. */
function echoTask(queue: string) {
  const task = defineTask({
    type: 'echo',
    queue,
    payload: z.object({
      text: z.string(),
      failFirst: z.number().int().optional(),
      hang: z.boolean().optional(),
    }),
    maxAttempts: 3,
    retryBackoff: { minDelayMs: 2_000, maxDelayMs: 2_000 },
  });
  const ran: Array<[string, number]> = [];
  const handler = handleTask(task, async (payload, context) => {
    ran.push([payload.text, context.deliveryCount]);
    if (payload.hang) {
      await new Promise((resolve) => context.signal.addEventListener('abort', resolve));
      return;
    }
    if (context.deliveryCount <= (payload.failFirst ?? 0)) throw new Error(`flaky ${payload.text}`);
  });
  return { task, handler, ran };
}

async function setup(fifo = false) {
  const pair = await queuePair(fifo);
  const runs = createMemoryRunStore();
  const queue = createSqsQueue({ client: emulator.sqs, fifo, queueUrl: () => pair.url });
  const dispatcher = createDispatcher({ queue, runs });
  const echo = echoTask(pair.name);
  return { ...pair, runs, queue, dispatcher, ...echo };
}

const statusOf = async (runs: RunStore, runId: string) => (await runs.get(runId))?.status;

describe('createSqsLambdaHandler', () => {
  it('handles an event in the shape of the AWS docs example: the task runs, the junk record is reported failed', async () => {
    const runs = createMemoryRunStore();
    const { task, handler, ran } = echoTask('my-queue');
    await runs.create({
      runId: 'run-1',
      taskType: 'echo',
      status: 'queued',
      attempt: 0,
      maxAttempts: 3,
      version: 1,
      payload: { text: 'hello' },
      queuedAt: Date.now(),
      updatedAt: Date.now(),
    });
    const body = JSON.stringify({
      v: 1,
      type: task.type,
      runId: 'run-1',
      attempt: 1,
      payload: { text: 'hello' },
      dispatchedAt: Date.now(),
    });
    // Field for field the example event of the Lambda developer guide; the first body is ours.
    const event: SqsEvent = {
      Records: [
        {
          messageId: '059f36b4-87a3-44ab-83d2-661975830a7d',
          receiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...',
          body,
          attributes: {
            ApproximateReceiveCount: '1',
            SentTimestamp: '1545082649183',
            SenderId: 'AIDAIENQZJOLO23YVJ4VO',
            ApproximateFirstReceiveTimestamp: '1545082649185',
          },
          messageAttributes: {},
          md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-2:123456789012:my-queue',
          awsRegion: 'us-east-2',
        },
        {
          messageId: '2e1424d4-f796-459a-8184-9c92662be6da',
          receiptHandle: 'AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq...',
          body: 'test',
          attributes: {
            ApproximateReceiveCount: '1',
            SentTimestamp: '1545082650636',
            SenderId: 'AIDAIENQZJOLO23YVJ4VO',
            ApproximateFirstReceiveTimestamp: '1545082650649',
          },
          messageAttributes: {},
          md5OfBody: '098f6bcd4621d373cade4e832627b4f6',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-2:123456789012:my-queue',
          awsRegion: 'us-east-2',
        },
      ],
    };
    const errors: string[] = [];
    const lambda = createSqsLambdaHandler({
      handlers: [handler],
      runs,
      onError: (error) => errors.push(String(error)),
    });
    const response = await lambda(event);
    expect(failures(response)).toEqual(['2e1424d4-f796-459a-8184-9c92662be6da']);
    expect(ran).toEqual([['hello', 1]]);
    expect(await statusOf(runs, 'run-1')).toBe('completed');
    expect(errors.join('\n')).toMatch(/2e1424d4.*body is not JSON.*redrive policy/s);
  });

  it('runs dispatched tasks; successful records are deleted at once and not reported', async () => {
    const s = await setup();
    const runIds: string[] = [];
    for (const text of ['a', 'b', 'c']) {
      runIds.push((await s.dispatcher.dispatch(s.task, { text })).runId);
    }
    const event = await receiveEvent(s.url, s.arn);
    expect(event.Records).toHaveLength(3);
    const lambda = createSqsLambdaHandler({
      handlers: [s.handler],
      runs: s.runs,
      queue: s.queue,
      concurrency: 2,
    });
    const response = await lambda(event);
    expect(failures(response)).toEqual([]);
    expect(s.ran.map(([text]) => text).sort()).toEqual(['a', 'b', 'c']);
    for (const runId of runIds) expect(await statusOf(s.runs, runId)).toBe('completed');
    // Deleted by the handler itself, before Lambda would have.
    expect(await queueCounts(s.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('a failing task is reported and comes back after its retry backoff, then completes', async () => {
    const s = await setup();
    const { runId } = await s.dispatcher.dispatch(s.task, { text: 'flaky', failFirst: 1 });
    const lambda = createSqsLambdaHandler({ handlers: [s.handler], runs: s.runs, queue: s.queue });
    const first = await receiveEvent(s.url, s.arn);
    const response = await lambda(first);
    expect(failures(response)).toEqual([first.Records[0]!.messageId]);
    const record = await s.runs.get(runId);
    expect([record?.status, record?.error?.message]).toEqual(['queued', 'flaky flaky']);
    // Hidden for the 2 s backoff (not the 30 s visibility the poller received it with).
    expect((await receiveEvent(s.url, s.arn)).Records).toEqual([]);
    let second: SqsEvent = { Records: [] };
    for (let i = 0; i < 10 && second.Records.length === 0; i++)
      second = await receiveEvent(s.url, s.arn);
    expect(second.Records.map((r) => [r.messageId, r.attributes.ApproximateReceiveCount])).toEqual([
      [first.Records[0]!.messageId, '2'],
    ]);
    expect(failures(await lambda(second))).toEqual([]);
    expect(await statusOf(s.runs, runId)).toBe('completed');
    expect(s.ran).toEqual([
      ['flaky', 1],
      ['flaky', 2],
    ]);
  });

  it('a malformed record goes to the dead-letter queue with its reason and is not reported', async () => {
    const s = await setup();
    await s.queue.enqueue(s.name, '{"not":"an envelope"}');
    const event = await receiveEvent(s.url, s.arn);
    const lambda = createSqsLambdaHandler({ handlers: [s.handler], runs: s.runs, queue: s.queue });
    expect(failures(await lambda(event))).toEqual([]);
    const dead = await s.queue.deadLetters(s.name);
    expect(dead.map((d) => [d.id, d.body, d.reason])).toEqual([
      [
        event.Records[0]!.messageId,
        '{"not":"an envelope"}',
        'malformed message: unsupported envelope version undefined',
      ],
    ]);
    expect(await queueCounts(s.url)).toEqual({ visible: 0, inFlight: 0 });
  });

  it('without a queue, a poison record is reported until the redrive policy moves it: no endless loop', async () => {
    const s = await setup();
    await s.queue.enqueue(s.name, 'poison');
    const errors: string[] = [];
    const lambda = createSqsLambdaHandler({
      handlers: [s.handler],
      runs: s.runs,
      onError: (error) => errors.push(String(error)),
    });
    let invocations = 0;
    for (let poll = 0; poll < MAX_RECEIVE_COUNT + 2; poll++) {
      // Lambda's poller with a zero visibility timeout, so the failed record is due again at once.
      const out = await emulator.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: s.url,
          VisibilityTimeout: 0,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      const event = { Records: (out.Messages ?? []).map((m) => toRecord(m, s.arn)) };
      if (event.Records.length === 0) continue;
      invocations += 1;
      const response = await lambda(event);
      expect(failures(response)).toEqual([event.Records[0]!.messageId]);
      await lambdaDeletes(s.url, event, failures(response));
    }
    expect(invocations).toBe(MAX_RECEIVE_COUNT);
    expect(errors.filter((e) => e.includes('redrive policy'))).toHaveLength(MAX_RECEIVE_COUNT);
    // Moved by SQS's redrive policy: the adapter lists it with that reason.
    const dead = await s.queue.deadLetters(s.name);
    expect(dead.map((d) => [d.body, d.deliveryCount])).toEqual([['poison', MAX_RECEIVE_COUNT]]);
    expect(dead[0]!.reason).toMatch(/redrive policy/);
  });

  it('FIFO: stops at the first failure and reports it with every record after it', async () => {
    const s = await setup(true);
    const runIds: string[] = [];
    for (const [text, failFirst] of [
      ['one', 0],
      ['two', 1],
      ['three', 0],
    ] as const) {
      runIds.push((await s.dispatcher.dispatch(s.task, { text, failFirst })).runId);
    }
    // Ungrouped, each message has a group of its own, so one receive returns all three (fauxqs
    // returns one message per group per receive; AWS up to ten of one group).
    const event = await receiveEvent(s.url, s.arn);
    expect(event.Records.map((r) => parseEnvelope(r.body).runId)).toEqual(runIds);
    expect(event.Records.every((r) => r.attributes.MessageGroupId !== undefined)).toBe(true);
    const lambda = createSqsLambdaHandler({
      handlers: [s.handler],
      runs: s.runs,
      queue: s.queue,
      concurrency: 3,
    });
    const response = await lambda(event);
    expect(failures(response)).toEqual(event.Records.slice(1).map((r) => r.messageId));
    expect(s.ran).toEqual([
      ['one', 1],
      ['two', 1],
    ]);
    expect(await Promise.all(runIds.map((runId) => statusOf(s.runs, runId)))).toEqual([
      'completed',
      'queued',
      'queued',
    ]);
  });

  it('a leftover delivery of a finished run is dropped, not run again', async () => {
    const s = await setup();
    const { runId } = await s.dispatcher.dispatch(s.task, { text: 'once' });
    const event = await receiveEvent(s.url, s.arn);
    const lambda = createSqsLambdaHandler({ handlers: [s.handler], runs: s.runs });
    expect(failures(await lambda(event))).toEqual([]);
    // The same record again (SQS delivers at least once): acknowledged without running.
    expect(failures(await lambda(event))).toEqual([]);
    expect(s.ran).toEqual([['once', 1]]);
    expect(await statusOf(s.runs, runId)).toBe('completed');
  });

  it('a record delivered more often than maxDeliveries dead-letters its run, ending the run first', async () => {
    const s = await setup();
    const { runId } = await s.dispatcher.dispatch(s.task, { text: 'tired' });
    const event = await receiveEvent(s.url, s.arn);
    // As if three functions had died before starting it: the fourth delivery exceeds 3.
    event.Records[0]!.attributes.ApproximateReceiveCount = '4';
    const lambda = createSqsLambdaHandler({
      handlers: [s.handler],
      runs: s.runs,
      queue: s.queue,
      maxDeliveries: 3,
    });
    expect(failures(await lambda(event))).toEqual([]);
    const record = await s.runs.get(runId);
    expect(record?.status).toBe('dead_lettered');
    expect(record?.error).toEqual({
      code: 'max_deliveries',
      message: 'delivered 3 times without being settled (maxDeliveries 3)',
    });
    expect((await s.queue.deadLetters(s.name)).map((d) => d.reason)).toEqual([
      record?.error?.message,
    ]);
    expect(s.ran).toEqual([]);
  });

  it('near the function timeout, a running task is interrupted, released and reported', async () => {
    const s = await setup();
    const { runId } = await s.dispatcher.dispatch(s.task, { text: 'slow', hang: true });
    const event = await receiveEvent(s.url, s.arn);
    const lambda = createSqsLambdaHandler({
      handlers: [s.handler],
      runs: s.runs,
      queue: s.queue,
      shutdownMarginMs: 100,
    });
    const response = await lambda(event, {
      getRemainingTimeInMillis: () => 300,
      awsRequestId: 'r1',
    });
    expect(failures(response)).toEqual([event.Records[0]!.messageId]);
    const record = await s.runs.get(runId);
    // Handed back unfinished: the attempt it used is given back.
    expect([record?.status, record?.attempt, record?.maxAttempts]).toEqual(['queued', 1, 4]);
    // Released for another delivery at once, not after the 30 s visibility timeout.
    const again = await receiveEvent(s.url, s.arn);
    expect(again.Records.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(['2']);
  });
});
