import type { Redis } from 'ioredis';
import { createBullmqQueue } from 'loopwork/bullmq';
import { lifecycleConformance, queueConformance } from 'loopwork/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server';

// The queue conformance suite against a real redis-server that this file starts on a free port.
let server: RedisServer;
let client: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
});
afterAll(() => server.stop());

queueConformance({
  describe,
  it,
  createQueue: async (options) =>
    createBullmqQueue({
      connection: client,
      prefix: `t${Math.random().toString(36).slice(2, 8)}`,
      // The suite's leases are 150 ms; look for lost leases often enough to redeliver in time.
      stalledIntervalMs: 50,
      ...options,
    }),
});

lifecycleConformance({
  describe,
  it,
  createQueue: async () =>
    createBullmqQueue({
      connection: client,
      prefix: `l${Math.random().toString(36).slice(2, 8)}`,
      stalledIntervalMs: 50,
    }),
});
