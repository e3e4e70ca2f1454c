import { InvalidOptionError } from 'loopwork';

/** The Claude Agent SDK module, loaded on first use (it is an optional peer dependency). */
export type ClaudeAgentSdk = typeof import('@anthropic-ai/claude-agent-sdk');

const INSTALL = 'npm install @anthropic-ai/claude-agent-sdk@0.3.335';

let loading: Promise<ClaudeAgentSdk> | undefined;

/** True for Node's "module not found" errors (ESM and CommonJS). */
function isMissingModule(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * Imports a peer module; a missing package becomes an error that says what to install.
 * Exported for its test.
 */
export async function importPeer<T>(specifier: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (cause) {
    if (!isMissingModule(cause)) throw cause;
    const error = new InvalidOptionError(
      `[loopwork:claude-agent-sdk] cannot load ${specifier}: loopwork/claude-agent-sdk needs the optional peer dependency @anthropic-ai/claude-agent-sdk (${INSTALL})`,
    );
    (error as Error & { cause?: unknown }).cause = cause;
    throw error;
  }
}

/** Loads the SDK once (the promise is shared; a failure is retried on the next call). */
export function loadSdk(): Promise<ClaudeAgentSdk> {
  loading ??= importPeer(
    '@anthropic-ai/claude-agent-sdk',
    () => import('@anthropic-ai/claude-agent-sdk'),
  );
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
