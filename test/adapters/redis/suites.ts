import {
  createRedisBlobStore,
  createRedisEventLog,
  createRedisHeartbeatStore,
  createRedisQueue,
  createRedisRunStore,
  createRedisSessionStore,
  type RedisClient,
  type RedisQueueOptions,
} from 'loopwork/redis';
import {
  blobStoreConformance,
  type ConformanceTiming,
  eventLogConformance,
  heartbeatStoreConformance,
  lifecycleConformance,
  queueConformance,
  runStoreConformance,
  sessionStoreConformance,
} from 'loopwork/testing';
import { describe, it } from 'vitest';

const prefix = () => `t${Math.random().toString(36).slice(2, 8)}`;

/**
 * Every conformance suite of `loopwork/testing` against the Redis adapters on `client()` (called
 * when a test creates its adapter, so after the file's beforeAll has connected it).
 */
export function redisConformance(
  client: () => RedisClient,
  options: {
    queueOptions?: Partial<RedisQueueOptions>;
    queuesOnly?: boolean;
    /** Wider windows for slower servers (see ConformanceTiming). */
    timing?: ConformanceTiming;
  } = {},
): void {
  const queueOptions = options.queueOptions ?? {};
  const timing = options.timing ? { timing: options.timing } : {};
  queueConformance({
    describe,
    it,
    ...timing,
    createQueue: async (options) =>
      createRedisQueue({ client: client(), prefix: prefix(), ...queueOptions, ...options }),
  });
  lifecycleConformance({
    describe,
    it,
    ...timing,
    createQueue: async () =>
      createRedisQueue({ client: client(), prefix: prefix(), ...queueOptions }),
    createRunStore: async () => createRedisRunStore({ client: client(), prefix: prefix() }),
    createEventLog: async () => createRedisEventLog({ client: client(), prefix: prefix() }),
  });
  if (options.queuesOnly) return;
  sessionStoreConformance({
    describe,
    it,
    createStore: async () => createRedisSessionStore({ client: client(), prefix: prefix() }),
  });
  runStoreConformance({
    describe,
    it,
    createStore: async () => createRedisRunStore({ client: client(), prefix: prefix() }),
  });
  heartbeatStoreConformance({
    describe,
    it,
    ...timing,
    createStore: async () => createRedisHeartbeatStore({ client: client(), prefix: prefix() }),
  });
  eventLogConformance({
    describe,
    it,
    ...timing,
    createLog: async (options) =>
      createRedisEventLog({ client: client(), prefix: prefix(), ...options }),
  });
  blobStoreConformance({
    describe,
    it,
    createStore: async () => createRedisBlobStore({ client: client(), prefix: prefix() }),
  });
}
