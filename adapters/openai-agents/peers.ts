import { InvalidOptionError } from 'loopwork';

/**
 * The OpenAI Agents SDK, an optional peer dependency loaded on first use: importing
 * `loopwork/openai-agents` costs nothing, and a missing package is reported as what to install
 * instead of Node's bare "Cannot find module".
 */
export type Peers = typeof import('@openai/agents');

const INSTALL = 'npm install @openai/agents@~0.14.3 openai@^6';

let loading: Promise<Peers> | undefined;

/** True for Node's "module not found" errors (ESM and CommonJS). */
function isMissingModule(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * Imports one peer module; a missing package becomes an error that says what to install.
 * Exported for its test.
 */
export async function importPeer<T>(specifier: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (cause) {
    if (!isMissingModule(cause)) throw cause;
    const error = new InvalidOptionError(
      `[loopwork:openai-agents] cannot load ${specifier}: loopwork/openai-agents needs the optional peer dependency @openai/agents 0.14 (${INSTALL}; 0.15 and later need Node 22)`,
    );
    (error as Error & { cause?: unknown }).cause = cause;
    throw error;
  }
}

/** Loads the SDK once (the promise is shared; a failure is retried on the next call). */
export function loadPeers(): Promise<Peers> {
  loading ??= importPeer('@openai/agents', () => import('@openai/agents'));
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
