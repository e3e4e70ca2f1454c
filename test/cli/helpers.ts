// Runs the built `loopwork` bin (dist/cli/main.js), as users and CI do. Not a test file.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const BIN = join(process.cwd(), 'dist/cli/main.js');

/** Newest modification time under `dir` (recursively), in ms. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/**
 * Fails loudly unless dist/ holds a build of the current sources: these tests run the built bin,
 * so a stale build would test old code. CI runs `npm run build` before `npm test`.
 */
export function assertBuilt(): void {
  let built: number;
  try {
    built = statSync(BIN).mtimeMs;
  } catch {
    throw new Error(`${BIN} does not exist: run \`npm run build\` before these tests`);
  }
  for (const dir of ['cli', 'src', 'adapters/redis', 'adapters/postgres']) {
    if (newest(dir) > built) {
      throw new Error(
        `${dir}/ changed after the last build: run \`npm run build\` before these tests`,
      );
    }
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the bin with `args`; `env` is added to this process's (NO_COLOR and LOOPWORK_URL removed). */
export function start(
  args: readonly string[],
  env: Record<string, string> = {},
  bin = BIN,
): ChildProcess & {
  result: Promise<CliResult>;
  output(): string;
} {
  const base = { ...process.env };
  delete base.NO_COLOR;
  delete base.LOOPWORK_URL;
  delete base.FORCE_COLOR;
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const result = new Promise<CliResult>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return Object.assign(child, { result, output: () => stdout });
}

/** Runs any program to its end (`script`, to give the bin a terminal). */
export function run(
  file: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  const base = { ...process.env };
  delete base.NO_COLOR;
  delete base.FORCE_COLOR;
  // Node reports 2 colours for any terminal when CI is set (tty.getColorDepth): the bin must see
  // the terminal a person would have, whatever runs the tests.
  delete base.CI;
  const child = spawn(file, args, { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Runs the bin to its end. */
export function cli(
  args: readonly string[],
  env: Record<string, string> = {},
  bin = BIN,
): Promise<CliResult> {
  return start(args, env, bin).result;
}
