import { importOptionalPeer } from 'loopwork/adapter-kit';

/** The Claude Agent SDK module, loaded on first use (it is an optional peer dependency). */
export type ClaudeAgentSdk = typeof import('@anthropic-ai/claude-agent-sdk');

const INSTALL = 'npm install @anthropic-ai/claude-agent-sdk@0.3.335';

let loading: Promise<ClaudeAgentSdk> | undefined;

/**
 * Imports a peer module; a missing package becomes an error that says what to install.
 * Exported for its test.
 */
export function importPeer<T>(specifier: string, load: () => Promise<T>): Promise<T> {
  return importOptionalPeer(specifier, load, {
    adapter: 'claude-agent-sdk',
    needs: 'the optional peer dependency @anthropic-ai/claude-agent-sdk',
    install: INSTALL,
  });
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
