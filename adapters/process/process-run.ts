import { setTimeout as delay } from 'node:timers/promises';
import {
  AGENT_DEFAULTS,
  createRedactor,
  InvalidStateError,
  LoopworkError,
  type Message,
  type Redactor,
  RUN_STATE_SCHEMA_VERSION,
  type RunState,
  type RuntimeResult,
  type RuntimeRunOptions,
} from 'loopwork';
import { PROCESS_DEFAULTS } from './defaults';
import { asError, decideEnding, type Ending } from './ending';
import type { FormatRun, ProcessFormat, Signal } from './format';
import { formatRunOf } from './format-run';
import { type Line, readLines, Tail } from './line-reader';
import { type ProcessGroup, spawnGroup } from './process-group';
import { type RunProxy, startRunProxy } from './run-proxy';
import type { ProcessRuntimeSettings } from './settings';
import { handleSignal } from './signals';
import { Transcript } from './transcript';
import { TurnAccount } from './turn-account';
import { Workdir } from './workdir';

/** How long stdout may stay open once the process group is gone. */
const STDOUT_DRAIN_MS = 2_000;

/** One run of a process runtime: one process group, its stdout read as the format says. */
export class ProcessRun {
  readonly transcript: Transcript;
  readonly account: TurnAccount;
  readonly redactor: Redactor;
  readonly run: FormatRun;
  handle: unknown;
  /** The transcript as of the handle (snapshot formats resume there). */
  atHandle: Message[];
  ending: Ending | undefined;
  /** The agent's own `result` line, when it wrote one. */
  result: Extract<Signal, { kind: 'result' }> | undefined;
  group: ProcessGroup | undefined;
  /** The run's budget proxy (`budgetProxy`): turns are then its records, not the stream's. */
  proxy: RunProxy | undefined;
  private work: Promise<void> = Promise.resolve();
  private readonly stderr: Tail;
  /** Tool calls the agent started: when, and in which turn. */
  readonly toolStarts = new Map<string, { at: number; turn: number }>();
  private badLines = 0;
  private readonly workdir: Workdir | undefined;
  private readonly decoder: ReturnType<ProcessFormat['decoder']>;

  constructor(
    readonly settings: ProcessRuntimeSettings,
    readonly format: ProcessFormat,
    readonly name: string,
    readonly options: RuntimeRunOptions,
  ) {
    const prior = options.resumeFrom?.state;
    if (prior?.runtime && prior.runtime.name !== name) {
      throw new InvalidStateError(
        `[loopwork:process] run state "${prior.runId}" was written by runtime "${prior.runtime.name}", not "${name}"; continue it with that runtime`,
      );
    }
    this.redactor = createRedactor(settings.redact);
    this.stderr = new Tail(settings.maxStderrBytes ?? PROCESS_DEFAULTS.maxStderrBytes);
    this.handle = prior?.runtime?.handle;
    this.transcript = new Transcript(prior?.messages ?? []);
    const kind = options.resumeFrom?.kind;
    const prompt = options.input.prompt;
    if (prompt !== undefined && kind !== 'attempt') this.transcript.user(prompt);
    this.atHandle = this.transcript.snapshot();
    const maxTurns = options.limits.maxTurns ?? settings.maxTurns ?? AGENT_DEFAULTS.maxTurns;
    this.account = new TurnAccount({
      ...options.limits,
      maxTurns,
      turns: prior?.turns ?? [],
      ...(settings.maxTokensPerCall || settings.budgetProxy
        ? {
            maxTokensPerCall: settings.maxTokensPerCall ?? PROCESS_DEFAULTS.proxyMaxTokensPerCall,
          }
        : {}),
      ...(settings.minTokensPerCall ? { minTokensPerCall: settings.minTokensPerCall } : {}),
      ...(settings.modelId ? { defaultModelId: settings.modelId } : {}),
    });
    this.run = formatRunOf(settings, format, options, maxTurns);
    this.decoder = format.decoder(this.run);
    this.workdir =
      settings.workdir && settings.cwd
        ? new Workdir(settings.cwd, settings.workdir, options.runId, prior?.runId)
        : undefined;
  }

  /** Runs the process to its end; never rejects. */
  async execute(): Promise<RuntimeResult> {
    const { options } = this;
    options.emit({
      type: 'run-started',
      runId: options.runId,
      resumed: options.resumeFrom !== undefined,
      turnsSoFar: this.account.turns().length,
    });
    try {
      if (options.resumeFrom) await this.workdir?.restore();
      await this.spawnAndRead();
    } catch (error) {
      this.end({ status: 'failed', error: asError(error) });
    }
    const ending = this.decide();
    const state = this.state(ending.status, ending.error);
    if (ending.status !== 'aborted') {
      try {
        await this.workdir?.persist();
        await options.checkpoint(state);
      } catch (error) {
        if (ending.status !== 'failed')
          Object.assign(ending, { status: 'failed', error: asError(error) });
        Object.assign(state, { status: ending.status, error: this.errorRecord(asError(error)) });
      }
    }
    const { usage, costUsd } = this.account.spent();
    options.emit({
      type: 'run-finished',
      runId: options.runId,
      status: ending.status,
      turns: state.turns.length,
      usage,
      costUsd,
    });
    return {
      status: ending.status,
      ...(ending.status === 'completed'
        ? { output: this.result?.output ?? this.transcript.lastText() ?? '' }
        : {}),
      state,
      usage,
      costUsd,
      ...(ending.budget ? { budget: ending.budget } : {}),
      ...(ending.error ? { error: ending.error } : {}),
    };
  }

  private async spawnAndRead(): Promise<void> {
    if (this.options.signal.aborted) {
      this.end({ status: 'aborted' });
      return;
    }
    if (this.settings.budgetProxy) this.proxy = await startRunProxy(this);
    try {
      await this.spawnWith(this.proxy);
      // A call the ledger could not judge (no price with maxCostUsd): the CLI saw it refused.
      if (this.proxy?.proxy.failure)
        this.end({ status: 'failed', error: this.proxy.proxy.failure });
    } finally {
      // Calls still in flight are aborted and counted at their worst case; their turns land first.
      await this.proxy?.proxy.close();
      await this.work;
    }
  }

  private async spawnWith(proxy: RunProxy | undefined): Promise<void> {
    const { settings, format, options } = this;
    const env: NodeJS.ProcessEnv = settings.inheritEnv === false ? {} : { ...process.env };
    for (const [key, value] of Object.entries(settings.env ?? {})) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
    // The vendor's keys stay out even when the settings set them: the proxy holds the real one.
    for (const key of proxy?.unset ?? []) delete env[key];
    Object.assign(env, proxy?.env);
    const run = proxy
      ? { ...this.run, extraArgs: [...this.run.extraArgs, ...proxy.args] }
      : this.run;
    const group = spawnGroup(settings.command, format.args(run), {
      env,
      ...(settings.cwd ? { cwd: settings.cwd } : {}),
    });
    this.group = group;
    const onAbort = () => this.stop({ status: 'aborted' });
    options.signal.addEventListener('abort', onAbort, { once: true });
    try {
      group.child.stderr.on('data', (chunk: Buffer) => this.stderr.push(chunk));
      const lines = readLines(
        group.child.stdout,
        settings.maxLineBytes ?? PROCESS_DEFAULTS.maxLineBytes,
        (line) => this.onLine(line),
      );
      const first = format.stdin(this.run);
      if (first !== undefined) group.child.stdin.write(first);
      if (!format.keepsStdinOpen) group.child.stdin.end();
      const exit = await group.exited;
      if (exit.error) {
        throw new LoopworkError(
          'invalid_option',
          `[loopwork:process] could not start "${settings.command}": ${exit.error.message}; is it installed and on PATH (or cwd right)?`,
          { cause: exit.error },
        );
      }
      // What the process left behind in its group (a daemonized grandchild) goes with it.
      await group.stop(this.graces());
      // A process outside the group (it called setsid) may still hold stdout open: stop reading.
      const drained = await Promise.race([lines.then(() => true), delay(STDOUT_DRAIN_MS, false)]);
      if (!drained) group.child.stdout.destroy();
      await lines;
      await this.work;
      this.exit = exit;
    } finally {
      options.signal.removeEventListener('abort', onAbort);
      group.child.stdin.destroy();
    }
  }

  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  graces() {
    return {
      interruptGraceMs: this.settings.interruptGraceMs ?? PROCESS_DEFAULTS.interruptGraceMs,
      terminateGraceMs: this.settings.terminateGraceMs ?? PROCESS_DEFAULTS.terminateGraceMs,
    };
  }

  /** Sets how the run ends, once. */
  end(ending: Ending): void {
    this.ending ??= ending;
  }

  /**
   * Ends the run and stops the process group. `gentle`: stdin is closed first and the process
   * gets the interrupt grace to exit on its own (it was told why, say a refused model call).
   */
  stop(ending: Ending, gentle = false): void {
    this.end(ending);
    const group = this.group;
    if (!group) return;
    void (async () => {
      if (gentle) {
        group.child.stdin.end();
        const grace = this.graces().interruptGraceMs;
        const gone = await Promise.race([
          group.exited.then(() => true),
          new Promise<false>((resolve) => setTimeout(() => resolve(false), grace).unref()),
        ]);
        if (gone) return;
      }
      await group.stop(this.graces());
    })();
  }

  /** Runs `step` after the signals already queued (checkpoints stay in order). */
  enqueue(step: () => Promise<void>): void {
    this.work = this.work
      .then(step)
      .catch((error) => this.stop({ status: 'failed', error: asError(error) }));
  }

  /** Writes one protocol line to the process's stdin. */
  reply(message: unknown): void {
    const stdin = this.group?.child.stdin;
    if (stdin && !stdin.destroyed && stdin.writable) stdin.write(`${JSON.stringify(message)}\n`);
  }

  private onLine(line: Line): void {
    let signals: Signal[];
    try {
      if (line.kind === 'oversized') {
        throw new Error(`is ${line.bytes} bytes, over maxLineBytes; it was not read`);
      }
      let value: unknown;
      try {
        value = JSON.parse(line.text);
      } catch {
        throw new Error(`is not JSON: ${JSON.stringify(line.text.slice(0, 120))}`);
      }
      signals = this.decoder.decode(value);
    } catch (error) {
      const message = `[loopwork:process] ${this.format.name}: stdout line ${line.number} ${asError(error).message}`;
      this.badLines++;
      if (this.format.badLines === 'fail')
        this.stop({ status: 'failed', error: new Error(this.redactor.string(message)) });
      return;
    }
    for (const signal of signals) this.enqueue(() => handleSignal(this, signal));
  }

  /** Saves the run as it stands. A refused save (this attempt lost the run) stops it. */
  async checkpoint(): Promise<void> {
    await this.workdir?.persist();
    await this.options.checkpoint(this.state('running'));
  }

  private state(status: RunState['status'], error?: Error): RunState {
    const messages =
      this.format.handleKind === 'snapshot' && status === 'running'
        ? this.atHandle
        : this.transcript.snapshot();
    return {
      schemaVersion: RUN_STATE_SCHEMA_VERSION,
      runId: this.options.runId,
      status,
      messages: structuredClone(messages),
      turns: this.account.turns(),
      toolResults: [],
      suspensions: [],
      ...(error ? { error: this.errorRecord(error) } : {}),
      runtime: { name: this.name, handle: this.handle ?? null },
    };
  }

  private errorRecord(error: Error): { code: string; message: string } {
    return {
      code: LoopworkError.isInstance(error) ? error.code : 'error',
      message: this.redactor.string(error.message),
    };
  }

  private decide(): Ending {
    return decideEnding({
      stopped: this.ending,
      aborted: this.options.signal.aborted,
      result: this.result,
      exit: this.exit,
      command: this.settings.command,
      format: this.format.name,
      exitCodes: this.settings.exitCodes,
      badLines: this.badLines,
      stderr: this.stderr.text(),
      redactor: this.redactor,
    });
  }
}
