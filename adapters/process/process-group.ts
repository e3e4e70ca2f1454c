import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** How a process group is asked to stop, step by step. */
export interface StopGraces {
  /** Time to exit after SIGINT before SIGTERM. */
  interruptGraceMs: number;
  /** Time to exit after SIGTERM before SIGKILL. */
  terminateGraceMs: number;
}

/** A command running as the leader of its own process group. */
export interface ProcessGroup {
  readonly child: ChildProcessWithoutNullStreams;
  /** The group id (the leader's pid). */
  readonly pgid: number;
  /** Resolves once the leader has exited (never rejects; a failed spawn gives `error`). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
  /** The signals the group was sent by {@link ProcessGroup.stop}, in order. */
  readonly sent: NodeJS.Signals[];
  /**
   * Stops every process of the group: SIGINT, then SIGTERM after `interruptGraceMs`, then
   * SIGKILL after `terminateGraceMs`, each only while some process of the group still lives.
   * Safe to call more than once (later calls wait for the first).
   */
  stop(graces: StopGraces): Promise<void>;
}

const POLL_MS = 50;

/**
 * Does any process of group `pgid` still live? On Linux a zombie does not count: in a container
 * whose init never reaps, an orphaned grandchild stays a zombie forever but is gone.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited between the listing and the read
    }
    // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
  }
  return false;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Waits until the group is gone, up to `ms`; true when it is. */
async function waitGone(pgid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (groupAlive(pgid)) {
    if (Date.now() >= until) return false;
    await sleep(POLL_MS);
  }
  return true;
}

/**
 * Starts `command` detached, as the leader of a new process group, with all three stdio piped
 * and no shell, so that a stop reaches the whole tree the command starts (its grandchildren too).
 */
export function spawnGroup(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv },
): ProcessGroup {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    error?: Error;
  }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  // A write after the process closed its stdin is the process's business, not a crash of ours.
  child.stdin.on('error', () => {});
  const pgid = child.pid ?? -1;
  const sent: NodeJS.Signals[] = [];
  let stopping: Promise<void> | undefined;
  return {
    child,
    pgid,
    exited,
    sent,
    stop(graces) {
      stopping ??= (async () => {
        if (pgid <= 0) return;
        const steps: Array<[NodeJS.Signals, number]> = [
          ['SIGINT', graces.interruptGraceMs],
          ['SIGTERM', graces.terminateGraceMs],
          ['SIGKILL', 10_000],
        ];
        for (const [signal, grace] of steps) {
          if (!groupAlive(pgid)) return;
          sent.push(signal);
          signalGroup(pgid, signal);
          if (await waitGone(pgid, grace)) return;
        }
      })();
      return stopping;
    },
  };
}
