/**
 * A Postgres for the demo and the tests: `LOOPWORK_PG_URL` when set; else the server on
 * 127.0.0.1:5432 when one answers (trust auth, database `test`); else a throwaway one started
 * from the PostgreSQL binaries (15 here) (initdb + pg_ctl) on a free port in a temporary directory,
 * stopped when this process exits (`LOOPWORK_PG_PRIVATE=1` forces that last one). Not an example to copy into an application.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** The Debian package's binaries, newest major first (15 on this machine). */
function binDir(): string {
  if (process.env.LOOPWORK_PG_BIN) return process.env.LOOPWORK_PG_BIN;
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  return join(root, majors[0] ?? '15', 'bin');
}
const SHARED = 'postgres://postgres@127.0.0.1:5432/test';

let started: Promise<string> | undefined;
/** The server this process started, if any, and how many `freshSchema` users still need it. */
let privateServer: PrivatePostgres | undefined;
let users = 0;

/** The connection string of a Postgres the caller may create schemas in. */
export function postgresUrl(): Promise<string> {
  started ??= resolveUrl();
  return started;
}

async function resolveUrl(): Promise<string> {
  if (process.env.LOOPWORK_PG_URL) return process.env.LOOPWORK_PG_URL;
  // LOOPWORK_PG_PRIVATE=1 skips the shared server (to try the path CI takes without one).
  if (process.env.LOOPWORK_PG_PRIVATE !== '1' && (await answers(5432))) return SHARED;
  return startPrivate();
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
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

/** initdb refuses to run as root: run the binaries as the `postgres` user the package creates. */
function run(binary: string, args: string[]): void {
  const command = join(binDir(), binary);
  if (!existsSync(command)) {
    throw new Error(`${command} is missing: install the Debian package postgresql (.ci/run does)`);
  }
  if (process.getuid?.() === 0) execFileSync('runuser', ['-u', 'postgres', '--', command, ...args]);
  else execFileSync(command, args, { stdio: 'ignore' });
}

/** A private server started by {@link startPrivatePostgres}. */
export interface PrivatePostgres {
  url: string;
  /** Stops the server at once (`-m immediate`: like a crash) and starts it again after `downMs`. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): void;
}

/** Starts a throwaway server (initdb + pg_ctl) on a free port, with a `test` database. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'loopwork-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dir]);
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  const port = await freePort();
  const start = () =>
    run('pg_ctl', [
      ...['-D', data, '-w', '-l', join(dir, 'log'), 'start'],
      ...['-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`],
    ]);
  const halt = () => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already gone
    }
  };
  start();
  const stop = () => {
    process.off('exit', stop);
    halt();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  const admin = new pg.Client({
    connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
  });
  await admin.connect();
  await admin.query('create database test');
  await admin.end();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/test`,
    async restart(options = {}) {
      halt();
      if (options.downMs) await new Promise((resolve) => setTimeout(resolve, options.downMs));
      start();
    },
    stop,
  };
}

async function startPrivate(): Promise<string> {
  privateServer = await startPrivatePostgres();
  return privateServer.url;
}

/** A pool on {@link postgresUrl} and a fresh schema name; `drop()` removes that schema and ends the pool. */
export async function freshSchema(prefix = 'lw_test'): Promise<{
  pool: pg.Pool;
  schema: string;
  url: string;
  drop(): Promise<void>;
}> {
  users += 1;
  const url = await postgresUrl();
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // A broken idle connection (a server restart) must not crash the process.
  pool.on('error', () => {});
  const schema = `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
  return {
    pool,
    schema,
    url,
    async drop() {
      try {
        await pool.query(`drop schema if exists "${schema}" cascade`);
        await pool.end();
      } finally {
        // The last user stops a private server: test runners may end their worker processes
        // without running `exit` handlers, which would leave it running.
        if (--users === 0 && privateServer) {
          privateServer.stop();
          privateServer = undefined;
          started = undefined;
        }
      }
    },
  };
}
