/**
 * Agent tasks through Amazon SQS: a dispatcher enqueues them, a worker runs them; then the same
 * task handler runs as a Lambda function, given an SQS event, and reports the one bad record.
 *
 * Offline: SQS is fauxqs, an emulator speaking the AWS protocol, started in this process; the
 * model is scripted. Against AWS, drop the emulator and the `endpoint` (and the queue creation,
 * which belongs in your infrastructure code).
 */
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import {
  agentTask,
  createDispatcher,
  createMemoryRunStore,
  createMemorySessionStore,
  createWorker,
  defineTool,
} from 'loopwork';
import { createSqsLambdaHandler, createSqsQueue, type SqsEvent } from 'loopwork/sqs';
import { ScriptedModel } from 'loopwork/testing';
import { z } from 'zod';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'; // the SDK nags on Node 20
const emulator = await startFauxqs({ port: 0, logger: false });
const client = new SQSClient({
  endpoint: `http://127.0.0.1:${emulator.port}`,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

// A queue with a dead-letter queue behind a redrive policy (what your infrastructure code does).
const create = async (name: string, attributes: Record<string, string> = {}) => {
  const url = (
    await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))
  ).QueueUrl as string;
  const arn = (
    await client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    )
  ).Attributes?.QueueArn as string;
  return { url, arn };
};
const dlq = await create('support-tickets-dlq');
const source = await create('support-tickets', {
  RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 5 }),
});

const queue = createSqsQueue({ client }); // finds "support-tickets" by name (GetQueueUrl)
const runs = createMemoryRunStore(); // use a shared store (Redis, a database) in production
const checkpoints = createMemorySessionStore();

const lookup = defineTool({
  name: 'lookup_order',
  description: 'Finds an order.',
  input: z.object({ id: z.string() }),
  execute: async ({ id }) => ({ id, status: 'shipped' }),
});
const triage = agentTask({
  type: 'triage',
  queue: 'support-tickets',
  checkpoints,
  agent: (payload) => ({
    tools: [lookup],
    model: new ScriptedModel({
      turns: [
        { toolCalls: [{ name: 'lookup_order', input: { id: payload.prompt ?? '?' } }] },
        { text: `Order ${payload.prompt} has shipped; replied to the customer.` },
      ],
    }),
  }),
});
const dispatcher = createDispatcher({ queue, runs });

// 1. A long-running worker (a container, a VM) claims from SQS with long polling.
const dispatched = [];
for (const order of ['A-100', 'A-101', 'A-102']) {
  dispatched.push((await dispatcher.dispatch(triage.task, { prompt: order })).runId);
}
const worker = createWorker({
  queue,
  runs,
  handlers: [triage.handler],
  concurrency: 2,
  pollWaitMs: 1_000,
});
const running = worker.run();
while (
  (await Promise.all(dispatched.map((id) => runs.get(id)))).some((r) => r?.status !== 'completed')
) {
  await new Promise((resolve) => setTimeout(resolve, 50));
}
await worker.stop();
await running;
for (const runId of dispatched) {
  const saved = await checkpoints.load(runId);
  const last = saved?.state.messages.at(-1);
  console.log(
    `worker: ${runId} completed: ${last?.role === 'assistant' ? JSON.stringify(last.content[0]) : ''}`,
  );
}

// 2. The same handler as a Lambda function subscribed to the queue (ReportBatchItemFailures on).
export const handler = createSqsLambdaHandler({ handlers: [triage.handler], runs, queue });

const lambdaRun = (await dispatcher.dispatch(triage.task, { prompt: 'B-200' })).runId;
await queue.enqueue('support-tickets', 'this is not a task'); // a poison message
// What Lambda's poller does: receive a batch and hand it to the function as an event.
const received = await client.send(
  new ReceiveMessageCommand({
    QueueUrl: source.url,
    MaxNumberOfMessages: 10,
    WaitTimeSeconds: 1,
    MessageSystemAttributeNames: ['All'],
    MessageAttributeNames: ['All'],
  }),
);
const event: SqsEvent = {
  Records: (received.Messages ?? []).map((m) => ({
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body!,
    attributes: m.Attributes as SqsEvent['Records'][number]['attributes'],
    messageAttributes: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
        k,
        { stringValue: v.StringValue!, dataType: v.DataType! },
      ]),
    ),
    md5OfBody: m.MD5OfBody!,
    eventSource: 'aws:sqs',
    eventSourceARN: source.arn,
    awsRegion: 'us-east-1',
  })),
};
const response = await handler(event);
console.log(
  `lambda: ${event.Records.length} records, batchItemFailures ${JSON.stringify(response.batchItemFailures)}`,
);
console.log(`lambda: ${lambdaRun} ${(await runs.get(lambdaRun))?.status}`);
for (const letter of await queue.deadLetters('support-tickets')) {
  console.log(`dead letter: ${JSON.stringify(letter.body)}: ${letter.reason}`);
}

await queue.close();
client.destroy();
await emulator.stop();
