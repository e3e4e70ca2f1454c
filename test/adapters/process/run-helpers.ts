// Shared by the process runtime's tests: run a runtime once, collecting events and checkpoints.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentEvent, RunState, Runtime, RuntimeResult, RuntimeRunOptions } from 'loopwork';

export const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
export const PRICES = { scripted: { inputPerMTok: 1_000, outputPerMTok: 4_000 } };

/** Runs `runtime` once; `options` override the defaults (prompt 'go', no limits). */
export async function runOnce(
  runtime: Runtime,
  options: Partial<RuntimeRunOptions> & { runId: string },
): Promise<{ result: RuntimeResult; events: AgentEvent[]; checkpoints: RunState[] }> {
  const events: AgentEvent[] = [];
  const checkpoints: RunState[] = [];
  const result = await runtime.run({
    input: { prompt: 'go' },
    limits: { prices: PRICES },
    signal: new AbortController().signal,
    emit: (event) => events.push(event),
    checkpoint: async (state) => void checkpoints.push(structuredClone(state)),
    ...options,
  });
  return { result, events, checkpoints };
}

/** A fresh file the fake CLI appends its arguments and stdin to, and a reader of it. */
export function argsFile(): { path: string; calls(): Array<{ args: string[]; stdin: string }> } {
  const path = join(mkdtempSync(join(tmpdir(), 'loopwork-process-')), 'args.ndjson');
  return {
    path,
    calls: () =>
      readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
  };
}

/** Is process `pid` gone (or a zombie nobody reaps)? */
export function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
