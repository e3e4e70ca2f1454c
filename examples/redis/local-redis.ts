/**
 * A throwaway `redis-server` for the demo and the tests: started from the binary on a free port
 * (never the shared 6379) with its own data directory, and removed again by `stop()`.
 * Not an example to copy into an application; examples/redis/demo.ts uses it so CI needs no Redis.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/** A redis-server started by {@link startRedisServer}. */
export interface RedisServer {
  port: number;
  url: string;
  /** A new client; closed by `stop()`. */
  client(): Redis;
  /**
   * Kills the server (SIGKILL) and starts it again on the same port and data directory, after
   * `downMs` without a server (default 0).
   */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Kills the server, closes the clients, removes the data directory. */
  stop(): Promise<void>;
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

const NOT_INSTALLED =
  'redis-server is not installed or not on PATH: the tests and examples/redis start a private ' +
  'one from the binary (never the shared 6379). Install Redis 7 or later (Debian/Ubuntu: ' +
  '`apt-get install redis-server`, macOS: `brew install redis`), or point REDIS_SERVER_BIN at it.';

async function waitForPing(port: number, child: ChildProcess): Promise<void> {
  let spawnError: NodeJS.ErrnoException | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  const probe = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {}); // refused connections are expected until the server listens
  try {
    for (let i = 0; i < 200; i++) {
      if (spawnError?.code === 'ENOENT') throw new Error(NOT_INSTALLED, { cause: spawnError });
      if (spawnError) throw new Error(`redis-server did not start: ${spawnError.message}`);
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        probe.disconnect();
        await sleep(25);
      }
    }
    throw new Error(`redis-server on port ${port} did not answer PING`);
  } finally {
    probe.disconnect();
  }
}

/**
 * Starts `redis-server` on a free port, with AOF (`appendfsync always`) when asked, so that a
 * restart keeps every acknowledged write.
 */
export async function startRedisServer(
  options: { appendOnly?: boolean } = {},
): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'loopwork-redis-'));
  const clients: Redis[] = [];
  let child: ChildProcess;
  const launch = async () => {
    child = spawn(
      process.env.REDIS_SERVER_BIN ?? 'redis-server',
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir],
        ...['--appendonly', options.appendOnly ? 'yes' : 'no', '--appendfsync', 'always'],
      ],
      { stdio: 'ignore' },
    );
    await waitForPing(port, child);
  };
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  await launch();
  // However this process ends (an uncaught error, process.exit), the server must not outlive it.
  const onExit = () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    client() {
      const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null });
      clients.push(client);
      return client;
    },
    async restart(restartOptions = {}) {
      await kill();
      if (restartOptions.downMs) await sleep(restartOptions.downMs);
      await launch();
    },
    async stop() {
      process.off('exit', onExit);
      for (const client of clients) client.disconnect();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
