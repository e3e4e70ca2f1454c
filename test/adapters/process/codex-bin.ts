// The real codex binary npm installed for this platform (@openai/codex 0.171.0's linux-x64
// build), or why there is none, and a processRuntime for it with the budget proxy.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { processRuntime } from 'loopwork/process';

export const UPSTREAM_KEY = 'sk-proj-upstreamSECRETkey0123456789abcdefABCDEF';

/** The codex binary npm installed here, or why there is none. */
export function findCodex(): { path: string } | { missing: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return {
      missing: `no ${process.platform}-${process.arch} build is installed here (dev dependency @openai/codex-linux-x64 only)`,
    };
  try {
    const root = dirname(
      createRequire(import.meta.url).resolve('@openai/codex-linux-x64/package.json'),
    );
    const path = join(root, 'vendor', 'x86_64-unknown-linux-musl', 'bin', 'codex');
    return existsSync(path)
      ? { path }
      : { missing: `${path} is absent (optional dependency not installed)` };
  } catch (error) {
    return { missing: `@openai/codex-linux-x64 is not installed: ${(error as Error).message}` };
  }
}

const homes: string[] = [];
/** Removes the CODEX_HOME directories made by {@link proxiedCodex}. */
export function removeCodexHomes(): void {
  for (const dir of homes.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Codex (`-m <model>`) through the budget proxy, its upstream at `upstreamURL`. */
export function proxiedCodex(codexPath: string, upstreamURL: string, model = 'gpt-5.5') {
  const home = mkdtempSync(join(tmpdir(), 'loopwork-codex-proxy-home-'));
  homes.push(home);
  return processRuntime({
    command: codexPath,
    format: 'codex-exec-json',
    args: ['--skip-git-repo-check', '-m', model],
    env: { CODEX_HOME: home },
    interruptGraceMs: 3_000,
    terminateGraceMs: 2_000,
    budgetProxy: { upstream: { baseURL: upstreamURL, apiKey: UPSTREAM_KEY } },
  });
}

/** Prices the tests run under (cache reads at a tenth). */
export const GPT_PRICES = {
  'gpt-5.5': { inputPerMTok: 1.25, outputPerMTok: 10, cacheReadPerMTok: 0.125 },
};
