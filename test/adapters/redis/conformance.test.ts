import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server';
import { redisConformance } from './suites';

// Every suite against a real redis-server that this file starts on a free port.
let server: RedisServer;
let client: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  client = server.client();
});
afterAll(() => server.stop());

redisConformance(() => client);
