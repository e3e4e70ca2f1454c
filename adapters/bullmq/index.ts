/**
 * BullMQ adapter for loopwork (`loopwork/bullmq`): the queue contract on BullMQ's queues, so a
 * service that already runs BullMQ can carry loopwork tasks on the same Redis, prefix and
 * tooling. Needs the optional peer dependencies `bullmq` and `ioredis`.
 *
 * @packageDocumentation
 */
export type { BullmqQueueOptions } from './bullmq-queue';
export { createBullmqQueue } from './bullmq-queue';
