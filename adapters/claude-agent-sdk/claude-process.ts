import { type ChildProcess, spawn } from 'node:child_process';
import type { SpawnedProcess, SpawnOptions } from '@anthropic-ai/claude-agent-sdk';

/** Bytes of the process's stderr kept for error messages. */
const STDERR_TAIL = 4_096;
/** Time the process gets to exit after the run before it is killed. */
const EXIT_GRACE_MS = 5_000;

/**
 * The Claude Code process of one run, spawned by the runtime (the SDK's `spawnClaudeCodeProcess`)
 * so that the run can wait for it to be gone before it cleans up, and keep the end of its stderr.
 */
export class ClaudeProcess {
  private child: ChildProcess | undefined;
  private stderr = '';

  /** The `spawnClaudeCodeProcess` option. */
  readonly spawn = (options: SpawnOptions): SpawnedProcess => {
    const child = spawn(options.command, options.args, {
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      env: options.env as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: options.signal,
    });
    child.on('error', () => {});
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    this.child = child;
    return child as unknown as SpawnedProcess;
  };

  /** The last lines the process wrote to stderr. */
  get stderrTail(): string {
    return this.stderr.trim();
  }

  /** Resolves once the process has exited, killing it when it outlives the grace period. */
  async exited(graceMs = EXIT_GRACE_MS): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const first = await Promise.race([exit, timeout]);
    clearTimeout(timer);
    if (first === 'timeout') {
      child.kill('SIGKILL');
      await exit;
    }
  }
}
