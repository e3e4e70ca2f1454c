// The real claude binary npm installed for this platform (Claude Code 2.1.335, shipped in
// @anthropic-ai/claude-agent-sdk-linux-x64), or why there is none, and a processRuntime for it
// through the budget proxy. Tools run in `dontAsk` mode with an allow list: CI runs as root,
// where `bypassPermissions` is refused.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { processRuntime } from 'loopwork/process';

export const CLAUDE_MODEL = 'claude-sonnet-5-5';
export const ANTHROPIC_UPSTREAM_KEY = 'sk-ant-upstreamSECRETkey0123456789abcdefABCDEF';
/** Prices the tests run under. */
export const CLAUDE_PRICES = { [CLAUDE_MODEL]: { inputPerMTok: 3, outputPerMTok: 15 } };

/** The claude binary npm installed here, or why there is none. */
export function findClaude(): { path: string } | { missing: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return {
      missing: `no ${process.platform}-${process.arch} build is installed here (dev dependency: linux-x64 only)`,
    };
  try {
    const root = dirname(
      createRequire(import.meta.url).resolve(
        '@anthropic-ai/claude-agent-sdk-linux-x64/package.json',
      ),
    );
    const path = join(root, 'claude');
    return existsSync(path)
      ? { path }
      : { missing: `${path} is absent (optional dependency not installed)` };
  } catch (error) {
    return {
      missing: `@anthropic-ai/claude-agent-sdk-linux-x64 is not installed: ${(error as Error).message}`,
    };
  }
}

const temporary: string[] = [];
/** A fresh temporary directory, removed by {@link removeClaudeDirs}. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

/** Removes the directories made by {@link tempDir}. */
export function removeClaudeDirs(): void {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** The args and environment every offline claude run gets (its own config dir, no updater). */
export function claudeBase(env: Record<string, string | undefined> = {}) {
  return {
    format: 'claude-stream-json' as const,
    args: [
      '--model',
      CLAUDE_MODEL,
      '--permission-mode',
      'dontAsk',
      '--allowedTools',
      'Bash(echo:*)',
    ],
    cwd: tempDir('loopwork-claude-cwd-'),
    env: {
      CLAUDE_CONFIG_DIR: tempDir('loopwork-claude-config-'),
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      ...env,
    },
    interruptGraceMs: 3_000,
    terminateGraceMs: 2_000,
  };
}

/** Claude Code through the budget proxy, its upstream at `upstreamURL`. */
export function proxiedClaude(
  claudePath: string,
  upstreamURL: string,
  env: Record<string, string | undefined> = {},
) {
  return processRuntime({
    command: claudePath,
    ...claudeBase(env),
    budgetProxy: { upstream: { baseURL: upstreamURL, apiKey: ANTHROPIC_UPSTREAM_KEY } },
  });
}
