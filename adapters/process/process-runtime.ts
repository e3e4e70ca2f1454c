import {
  AGENT_DEFAULTS,
  addUsage,
  type BudgetName,
  createRedactor,
  emptyUsage,
  InvalidStateError,
  LoopworkError,
  type Message,
  type Redactor,
  RUN_STATE_SCHEMA_VERSION,
  type RunState,
  type Runtime,
  type RuntimeResult,
  type RuntimeRunOptions,
} from 'loopwork';
import { PROCESS_DEFAULTS } from './defaults';
import type { FormatRun, ProcessFormat, Signal } from './format';
import { type Line, readLines, Tail } from './line-reader';
import { type ProcessGroup, spawnGroup } from './process-group';
import { answerModelCall, runLoopworkTool } from './replies';
import { checkSettings, type ProcessRuntimeSettings } from './settings';
import { toolSpec } from './tools';
import { Transcript } from './transcript';
import { TurnAccount } from './turn-account';
import { Workdir } from './workdir';

/** How the run ends, decided once (the first stop wins). */
export interface Ending {
  status: RuntimeResult['status'];
  budget?: BudgetName;
  error?: Error;
}

/** One run of a process runtime: one process group, its stdout read as the format says. */
export class ProcessRun {
  readonly transcript: Transcript;
  readonly account: TurnAccount;
  readonly redactor: Redactor;
  readonly run: FormatRun;
  handle: unknown;
  /** The transcript as of the handle (snapshot formats resume there). */
  private atHandle: Message[];
  ending: Ending | undefined;
  private result: Extract<Signal, { kind: 'result' }> | undefined;
  group: ProcessGroup | undefined;
  private work: Promise<void> = Promise.resolve();
  private readonly stderr: Tail;
  private readonly toolStarts = new Map<string, number>();
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
      ...(settings.maxTokensPerCall ? { maxTokensPerCall: settings.maxTokensPerCall } : {}),
      ...(settings.minTokensPerCall ? { minTokensPerCall: settings.minTokensPerCall } : {}),
      ...(settings.modelId ? { defaultModelId: settings.modelId } : {}),
    });
    // A vendor session resumed after a crash already holds the task: it is asked to go on.
    const continues =
      kind === 'attempt' && format.handleKind === 'session' && this.handle !== undefined;
    const extra = settings.args ?? [];
    this.run = {
      runId: options.runId,
      ...(continues
        ? { prompt: settings.continuePrompt ?? PROCESS_DEFAULTS.continuePrompt }
        : prompt !== undefined
          ? { prompt }
          : {}),
      ...(options.input.answers ? { answers: options.input.answers } : {}),
      ...(this.handle !== undefined ? { handle: this.handle } : {}),
      ...(kind ? { resumeKind: kind } : {}),
      limits: { ...options.limits, maxTurns },
      tools: (settings.tools ?? []).map(toolSpec),
      input: settings.input ?? format.defaultInput,
      remainingTurns: Math.max(0, maxTurns - (prior?.turns.length ?? 0)),
      extraArgs:
        typeof extra === 'function'
          ? extra({ runId: options.runId, resumed: prior !== undefined })
          : extra,
    };
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
    const { settings, format, options } = this;
    if (options.signal.aborted) {
      this.end({ status: 'aborted' });
      return;
    }
    const env: NodeJS.ProcessEnv = settings.inheritEnv === false ? {} : { ...process.env };
    for (const [key, value] of Object.entries(settings.env ?? {})) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
    const group = spawnGroup(settings.command, format.args(this.run), {
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
    for (const signal of signals)
      this.work = this.work
        .then(() => this.handleSignal(signal))
        .catch((error) => this.stop({ status: 'failed', error: asError(error) }));
  }

  private turnNow(): number {
    return this.account.turns().length + 1;
  }

  private async handleSignal(signal: Signal): Promise<void> {
    const { options } = this;
    const runId = options.runId;
    switch (signal.kind) {
      case 'text':
        this.transcript.text(signal.text);
        options.emit({ type: 'text-delta', runId, turn: this.turnNow(), text: signal.text });
        return;
      case 'tool-call':
        this.transcript.toolCall(signal.id, signal.name, signal.input);
        if (signal.by === 'loopwork') {
          await runLoopworkTool(this, signal);
          return;
        }
        this.toolStarts.set(signal.id, performance.now());
        options.emit({
          type: 'tool-call-started',
          runId,
          turn: this.turnNow() - 1,
          toolCallId: signal.id,
          toolName: signal.name,
          input: signal.input,
        });
        return;
      case 'tool-result':
        this.toolResult(signal.id, signal.output, signal.isError);
        return;
      case 'model-call':
        answerModelCall(this, signal);
        return;
      case 'turn':
        await this.recordTurn(signal);
        return;
      case 'handle':
        this.handle = signal.handle;
        if (this.format.handleKind === 'snapshot') this.atHandle = this.transcript.snapshot();
        if (signal.checkpoint) await this.checkpoint();
        return;
      case 'result':
        this.result = signal;
        return;
    }
  }

  /** Records a tool result: in the transcript and as an event. */
  toolResult(
    id: string,
    output: string,
    isError: boolean,
    reason: 'threw' | 'unknown_tool' | 'invalid_input' | 'timeout' | 'denied' = 'threw',
  ): void {
    this.transcript.toolResult(id, output, isError);
    const started = this.toolStarts.get(id);
    this.toolStarts.delete(id);
    const base = {
      runId: this.options.runId,
      turn: this.turnNow() - 1,
      toolCallId: id,
      toolName: this.transcript.nameOf(id) ?? 'unknown',
      durationMs: started === undefined ? 0 : performance.now() - started,
    };
    this.options.emit(
      isError
        ? { type: 'tool-call-failed', ...base, reason, message: output }
        : { type: 'tool-call-finished', ...base, output },
    );
  }

  /** Marks a tool call as started now (for its duration). */
  toolStarted(id: string): void {
    this.toolStarts.set(id, performance.now());
  }

  private async recordTurn(signal: Extract<Signal, { kind: 'turn' }>): Promise<void> {
    const { record, over } = this.account.record(signal);
    this.options.emit({
      type: 'turn-finished',
      runId: this.options.runId,
      turn: record.turn,
      usage: record.usage,
      costUsd: record.costUsd,
      stopReason: record.stopReason,
    });
    await this.checkpoint();
    if (over) this.stop(over);
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

  /** How the run ended: a stop's reason, else the agent's result line, else the exit code. */
  private decide(): Ending {
    if (this.ending) return this.withStderr(this.ending);
    if (this.options.signal.aborted) return { status: 'aborted' };
    const exit = this.exit;
    const result = this.result;
    if (result) {
      if (result.status === 'completed') return { status: 'completed' };
      return this.withStderr({
        status: result.status,
        error: new Error(
          `[loopwork:process] ${this.format.name}: the agent ended ${result.status}${result.error ? `: ${this.redactor.string(result.error)}` : ''}`,
        ),
      });
    }
    const codes: Record<number, RuntimeResult['status']> = {
      0: 'completed',
      ...this.settings.exitCodes,
    };
    const status =
      exit?.code === null || exit?.code === undefined ? 'failed' : (codes[exit.code] ?? 'failed');
    if (status === 'completed') return { status };
    const how = exit?.signal ? `was killed by ${exit.signal}` : `exited with code ${exit?.code}`;
    const lines = this.badLines > 0 ? ` (${this.badLines} stdout lines could not be read)` : '';
    return this.withStderr({
      status,
      error: new Error(`[loopwork:process] "${this.settings.command}" ${how}${lines}`),
    });
  }

  /** Adds the redacted stderr tail to a failure's message. */
  private withStderr(ending: Ending): Ending {
    if (!ending.error) return ending;
    const tail = this.stderr.text().trim();
    if (!tail || ending.error.message.includes('stderr:')) return ending;
    const error = new Error(`${ending.error.message}; stderr: ${this.redactor.string(tail)}`, {
      cause: ending.error,
    });
    return { ...ending, error };
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * A {@link Runtime} that runs a command per run, in its own process group: CLI agents (`claude -p`,
 * `codex exec`) and agents in any language speaking loopwork's NDJSON protocol. Its stdout is read
 * as the format says and mapped to loopwork events, turns and a result; the session or thread id
 * (or the agent's own state) is checkpointed and passed back on resume; cancel stops the whole
 * group (SIGINT, SIGTERM, SIGKILL after grace periods).
 *
 * @example
 * ```ts
 * const runtime = processRuntime({ command: 'python3', args: ['agent.py'] }); // loopwork-ndjson
 * const claude = processRuntime({ command: 'claude', format: 'claude-stream-json', args: ['--permission-mode', 'dontAsk'] });
 * ```
 */
export function processRuntime(settings: ProcessRuntimeSettings): Runtime {
  const format = checkSettings(settings);
  const name = `process:${format.name}`;
  return {
    specificationVersion: 'loopwork.runtime.v1',
    name,
    async run(options) {
      let run: ProcessRun;
      try {
        run = new ProcessRun(settings, format, name, options);
      } catch (error) {
        return refused(name, options, asError(error));
      }
      return run.execute();
    },
  };
}

/** The result of a run that could not start (a state of another runtime, bad tools). */
function refused(name: string, options: RuntimeRunOptions, error: Error): RuntimeResult {
  const prior = options.resumeFrom?.state;
  const state: RunState = {
    schemaVersion: RUN_STATE_SCHEMA_VERSION,
    runId: options.runId,
    status: 'failed',
    messages: prior?.messages ?? [],
    turns: prior?.turns ?? [],
    toolResults: [],
    suspensions: [],
    error: { code: LoopworkError.isInstance(error) ? error.code : 'error', message: error.message },
    runtime: prior?.runtime ?? { name, handle: null },
  };
  const usage = state.turns.reduce((sum, turn) => addUsage(sum, turn.usage), emptyUsage());
  const costUsd = state.turns.reduce((sum, turn) => sum + turn.costUsd, 0);
  return { status: 'failed', state, usage, costUsd, error };
}
