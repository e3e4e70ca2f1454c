/**
 * Redis adapters for loopwork (`loopwork/redis`): a Redis Streams queue, the run event log as one
 * stream per run, and Redis implementations of the session, run, heartbeat and blob stores.
 * Needs the optional peer dependency `ioredis`.
 *
 * @packageDocumentation
 */
export type { RedisClient } from './client';
export type { RedisEventLogOptions } from './redis-event-log';
export { createRedisEventLog } from './redis-event-log';
export type { RedisQueueOptions } from './redis-queue';
export { createRedisQueue, ReplicationError } from './redis-queue';
export type { RedisRunStoreOptions } from './redis-run-store';
export { createRedisRunStore } from './redis-run-store';
export type { RedisSessionStoreOptions, RedisStoreOptions } from './redis-stores';
export {
  createRedisBlobStore,
  createRedisHeartbeatStore,
  createRedisSessionStore,
} from './redis-stores';
