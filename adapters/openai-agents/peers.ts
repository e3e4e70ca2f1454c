import { importOptionalPeer } from 'loopwork/adapter-kit';

/**
 * The OpenAI Agents SDK, an optional peer dependency loaded on first use: importing
 * `loopwork/openai-agents` costs nothing, and a missing package is reported as what to install
 * instead of Node's bare "Cannot find module".
 */
export type Peers = typeof import('@openai/agents');

const INSTALL = 'npm install @openai/agents@~0.14.3 openai@^6';

let loading: Promise<Peers> | undefined;

/**
 * Imports one peer module; a missing package becomes an error that says what to install.
 * Exported for its test.
 */
export function importPeer<T>(specifier: string, load: () => Promise<T>): Promise<T> {
  return importOptionalPeer(specifier, load, {
    adapter: 'openai-agents',
    needs: 'the optional peer dependency @openai/agents 0.14',
    install: `${INSTALL}; 0.15 and later need Node 22`,
  });
}

/** Loads the SDK once (the promise is shared; a failure is retried on the next call). */
export function loadPeers(): Promise<Peers> {
  loading ??= importPeer('@openai/agents', () => import('@openai/agents'));
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
