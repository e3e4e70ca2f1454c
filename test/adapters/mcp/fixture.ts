// Starts the MCP fixture server (test/fixtures/mcp/server.ts) on either transport.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { McpServerConfig } from 'loopwork/mcp';
import { afterAll } from 'vitest';

const SERVER = fileURLToPath(new URL('../../fixtures/mcp/server.ts', import.meta.url));

export type TransportName = 'stdio' | 'http';

/** A fixture server and what it logged (cancellations it received). */
export interface Fixture {
  config: McpServerConfig;
  /** The HTTP server's process (stdio servers are started by the adapter itself). */
  child?: ChildProcess;
  cancellations(): string[];
  /** Pids of the server processes started so far. */
  pids(): number[];
  stop(): Promise<void>;
}

/** Is a process with this pid alive? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The fixtures' log folders, removed after the test file (stdio servers outlive `stop()`'s call). */
const folders: string[] = [];
afterAll(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

export async function startFixture(transport: TransportName): Promise<Fixture> {
  const folder = mkdtempSync(join(tmpdir(), 'loopwork-mcp-'));
  folders.push(folder);
  const log = join(folder, 'log');
  const lines = () => {
    try {
      return readFileSync(log, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  const cancellations = () => lines().filter((line) => line.startsWith('cancelled '));
  const pids = () =>
    lines()
      .filter((line) => line.startsWith('pid '))
      .map((line) => Number(line.slice(4)));
  const args = ['--import', 'tsx', SERVER];
  if (transport === 'stdio') {
    return {
      config: { command: process.execPath, args, env: { MCP_FIXTURE_LOG: log } },
      cancellations,
      pids,
      stop: async () => {},
    };
  }
  const child = spawn(process.execPath, [...args, '--http'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, MCP_FIXTURE_LOG: log },
  });
  const port = await new Promise<number>((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const match = /listening (\d+)/.exec(seen);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`fixture server exited with ${code}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    config: { url: `http://127.0.0.1:${port}/mcp` },
    child,
    cancellations,
    pids,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
