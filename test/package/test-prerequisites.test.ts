import { afterEach, describe, expect, it } from 'vitest';
import { startRedisServer } from '../helpers/redis-server';

// `npm test` starts private redis-servers from the binary; a newcomer without one must be told
// what to install, not read Node's "spawn redis-server ENOENT" or "exited with -2".
describe('the private redis-server of the tests', () => {
  const saved = process.env.REDIS_SERVER_BIN;
  afterEach(() => {
    if (saved === undefined) delete process.env.REDIS_SERVER_BIN;
    else process.env.REDIS_SERVER_BIN = saved;
  });

  it('says what to install when the redis-server binary is missing', async () => {
    process.env.REDIS_SERVER_BIN = '/nonexistent/redis-server';
    const started = startRedisServer();
    await expect(started).rejects.toThrow(/redis-server is not installed or not on PATH/);
    await expect(started).rejects.toThrow(/apt-get install redis-server/);
  });
});
