import type { Dispatcher, EventLog, Queue, RunStore } from 'loopwork';
import { CliError, EXIT, safeUrl } from './exit';

/** What the commands work on: one deployment's stores and queue. */
export interface Backend {
  /** The URL, password hidden. */
  label: string;
  runs: RunStore;
  events: EventLog;
  queue: Queue;
  dispatcher: Dispatcher;
  close(): Promise<void>;
}

/** Options naming the backend. */
export interface BackendOptions {
  url: string | undefined;
  /** Key prefix of the Redis adapters. */
  prefix: string | undefined;
  /** Schema of the Postgres adapters. */
  schema: string | undefined;
}

const SUPPORTED = 'redis://, rediss:// or postgres:// (postgresql://)';

/** Opens the backend `options.url` names, or throws a CliError saying what is wrong. */
export async function openBackend(options: BackendOptions): Promise<Backend> {
  if (!options.url) {
    throw new CliError(EXIT.usage, `no backend: pass --url (${SUPPORTED}) or set LOOPWORK_URL`);
  }
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new CliError(
      EXIT.usage,
      `--url is not a URL (got ${JSON.stringify(options.url.replace(/:[^:@/]*@/, ':***@').slice(0, 80))}); expected ${SUPPORTED}`,
    );
  }
  if (url.protocol === 'redis:' || url.protocol === 'rediss:') {
    if (options.schema !== undefined)
      throw new CliError(EXIT.usage, '--schema is for postgres:// URLs; Redis keys use --prefix');
    return (await import('./redis-backend')).openRedis(url, options.prefix);
  }
  if (url.protocol === 'postgres:' || url.protocol === 'postgresql:') {
    if (options.prefix !== undefined)
      throw new CliError(EXIT.usage, '--prefix is for redis:// URLs; Postgres tables use --schema');
    return (await import('./postgres-backend')).openPostgres(url, options.schema);
  }
  throw new CliError(
    EXIT.usage,
    `--url ${safeUrl(url)}: unsupported scheme "${url.protocol}"; expected ${SUPPORTED}`,
  );
}

/** Node's "module not found", for an optional peer that is not installed. */
export function isMissingModule(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/** Imports a peer the backend needs, or throws a CliError saying what to install. */
export async function importPeer<T>(
  name: string,
  load: () => Promise<T>,
  scheme: string,
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (!isMissingModule(error)) throw error;
    throw new CliError(
      EXIT.missingPeer,
      `${scheme} URLs need the package "${name}", which is not installed: npm install ${name}`,
      { cause: error },
    );
  }
}
