import { createDispatcher } from 'loopwork';
import type { Backend } from './backend';
import { importPeer } from './backend';
import { CliError, EXIT, safeUrl } from './exit';

/** Most time spent connecting before the CLI says the server cannot be reached. */
const CONNECT_TIMEOUT_MS = 5_000;

/** Opens the Redis adapters on `url` with key prefix `prefix`. */
export async function openRedis(url: URL, prefix: string | undefined): Promise<Backend> {
  const { Redis } = await importPeer('ioredis', () => import('ioredis'), 'redis://');
  const adapters = await import('loopwork/redis');
  const client = new Redis(url.href, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // A CLI reports a dead server instead of retrying forever.
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  // Connection errors surface through connect() below or the command that hit them.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new CliError(
      EXIT.unreachable,
      `cannot reach Redis at ${safeUrl(url)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const options = { client, ...(prefix === undefined ? {} : { prefix }) };
  const runs = adapters.createRedisRunStore(options);
  const events = adapters.createRedisEventLog(options);
  const queue = adapters.createRedisQueue(options);
  return {
    label: safeUrl(url),
    runs,
    events,
    queue,
    dispatcher: createDispatcher({ queue, runs, events }),
    async close() {
      await queue.close();
      client.disconnect();
    },
  };
}
