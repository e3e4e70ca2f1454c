import type { Redis } from 'ioredis';
import {
  createRedisBlobStore,
  createRedisEventLog,
  createRedisHeartbeatStore,
  createRedisQueue,
  createRedisRunStore,
  createRedisSessionStore,
} from 'loopwork/redis';
import {
  blobStoreConformance,
  eventLogConformance,
  heartbeatStoreConformance,
  lifecycleConformance,
  queueConformance,
  runStoreConformance,
  sessionStoreConformance,
} from 'loopwork/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server';

// Every suite against a real redis-server that this file starts on a free port.
let server: RedisServer;
let client: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
});
afterAll(() => server.stop());

const prefix = () => `t${Math.random().toString(36).slice(2, 8)}`;

queueConformance({
  describe,
  it,
  createQueue: async (options) => createRedisQueue({ client, prefix: prefix(), ...options }),
});
sessionStoreConformance({
  describe,
  it,
  createStore: async () => createRedisSessionStore({ client, prefix: prefix() }),
});
runStoreConformance({
  describe,
  it,
  createStore: async () => createRedisRunStore({ client, prefix: prefix() }),
});
heartbeatStoreConformance({
  describe,
  it,
  createStore: async () => createRedisHeartbeatStore({ client, prefix: prefix() }),
});
eventLogConformance({
  describe,
  it,
  createLog: async (options) => createRedisEventLog({ client, prefix: prefix(), ...options }),
});
blobStoreConformance({
  describe,
  it,
  createStore: async () => createRedisBlobStore({ client, prefix: prefix() }),
});
lifecycleConformance({
  describe,
  it,
  createQueue: async () => createRedisQueue({ client, prefix: prefix() }),
  createRunStore: async () => createRedisRunStore({ client, prefix: prefix() }),
  createEventLog: async () => createRedisEventLog({ client, prefix: prefix() }),
});
