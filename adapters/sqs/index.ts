/**
 * Amazon SQS adapters for loopwork (`loopwork/sqs`): a queue on standard or FIFO SQS queues, and a
 * Lambda handler that runs the records of an SQS event through the same task handlers as a worker.
 * Needs the optional peer dependency `@aws-sdk/client-sqs`.
 *
 * @packageDocumentation
 */
export type {
  LambdaContextLike,
  SqsBatchResponse,
  SqsEvent,
  SqsEventRecord,
  SqsLambdaHandlerOptions,
} from './lambda';
export { createSqsLambdaHandler } from './lambda';
export type { SqsQueue, SqsRecordLike } from './sqs-queue';
export { createSqsQueue } from './sqs-queue';
export type { SqsQueueOptions } from './sqs-queue-options';
