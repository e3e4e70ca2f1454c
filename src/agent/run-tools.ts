import type { Instrumentation, ToolCallEnd } from '../instrumentation/instrumentation';
import { describeIssues } from '../internal/describe-issues';
import { describeThrown } from '../internal/describe-thrown';
import type { ToolCallPart, ToolResultPart } from '../model/messages';
import type { BlobStore } from '../store/blob-store';
import { type AgentEvent, ignoreEvents, type ToolFailureReason } from './events';
import type { AgentHooks } from './hooks';
import type { Suspension } from './run-state';
import type { Tool, ToolContext } from './tool';
import { boundToolOutput } from './tool-output-limit';

/** Everything tool execution needs from the loop. */
export interface ToolRunContext {
  runId: string;
  turn: number;
  tools: ReadonlyMap<string, Tool>;
  hooks: AgentHooks;
  concurrency: number;
  defaultTimeoutMs: number;
  /** Largest output the model sees, in UTF-8 bytes; longer ones are cut with a marker. */
  maxResultBytes: number;
  /** Keeps the full output of a cut one, when set. */
  blobs: BlobStore | undefined;
  /** The run's signal: aborting it abandons every running tool. */
  signal: AbortSignal;
  emit(event: AgentEvent): void;
  /** Wraps each tool call, when given. */
  instrumentation?: Instrumentation | undefined;
  /** Called once per finished call, in completion order, before the next one is reported. */
  onResult(result: ToolResultPart): Promise<void>;
}

/** What one batch of tool calls produced. */
export interface ToolBatchOutcome {
  results: ToolResultPart[];
  suspensions: Suspension[];
}

class SuspendSignal {
  constructor(readonly payload: unknown) {}
}

class ToolFailure {
  constructor(
    readonly reason: ToolFailureReason,
    readonly message: string,
  ) {}
}

type CallOutcome = { output: string } | ToolFailure | SuspendSignal;

/** Runs one call and records its outcome; a result is reported (and checkpointed) before this resolves. */
async function runAndReport(
  call: ToolCallPart,
  context: ToolRunContext,
  outcome: ToolBatchOutcome,
): Promise<void> {
  const result = await runOne(call, context);
  if (result instanceof SuspendSignal) {
    outcome.suspensions.push({ toolCallId: call.id, toolName: call.name, payload: result.payload });
    return;
  }
  outcome.results.push(result);
  await context.onResult(result);
}

/**
 * Runs tool calls with at most `concurrency` at once. Every failure — unknown tool, invalid
 * input, a denial, a throw, a timeout — becomes an error result the model can act on; only an
 * abort of the run itself rejects.
 */
export async function runToolCalls(
  calls: readonly ToolCallPart[],
  context: ToolRunContext,
): Promise<ToolBatchOutcome> {
  const outcome: ToolBatchOutcome = { results: [], suspensions: [] };
  // One worker (one call, or concurrency 1) needs no worker closures nor Promise.all.
  if (calls.length === 1 || context.concurrency === 1) {
    for (const call of calls) await runAndReport(call, context, outcome);
    return outcome;
  }
  let next = 0;
  // A chain keeps result reporting (and so checkpoint writes) in order, one at a time.
  let reported = Promise.resolve();
  const worker = async () => {
    while (next < calls.length) {
      const call = calls[next++] as ToolCallPart;
      const result = await runOne(call, context);
      if (result instanceof SuspendSignal) {
        outcome.suspensions.push({
          toolCallId: call.id,
          toolName: call.name,
          payload: result.payload,
        });
        continue;
      }
      outcome.results.push(result);
      reported = reported.then(() => context.onResult(result));
      await reported;
    }
  };
  const workers = Array.from({ length: Math.min(context.concurrency, calls.length) }, worker);
  await Promise.all(workers);
  return outcome;
}

async function runOne(
  call: ToolCallPart,
  context: ToolRunContext,
): Promise<ToolResultPart | SuspendSignal> {
  const started = performance.now();
  // Nobody listens (runAgent without onEvent): the events are not built at all.
  const listening = context.emit !== ignoreEvents;
  if (listening)
    context.emit({ type: 'tool-call-started', ...eventBase(call, context), input: call.input });
  const outcome = await instrumented(call, context);
  if (outcome instanceof SuspendSignal) return outcome;
  const durationMs = performance.now() - started;
  let output = outcome instanceof ToolFailure ? outcome.message : outcome.output;
  const isError = outcome instanceof ToolFailure;
  const replaced = await context.hooks.afterToolCall?.({
    runId: context.runId,
    turn: context.turn,
    toolCall: call,
    output,
    isError,
  });
  if (replaced) output = replaced.output;
  output = await boundToolOutput(output, {
    runId: context.runId,
    toolCallId: call.id,
    maxBytes: context.maxResultBytes,
    blobs: context.blobs,
  });
  if (listening && outcome instanceof ToolFailure) {
    context.emit({
      type: 'tool-call-failed',
      ...eventBase(call, context),
      reason: outcome.reason,
      message: output,
      durationMs,
    });
  } else if (listening) {
    context.emit({ type: 'tool-call-finished', ...eventBase(call, context), output, durationMs });
  }
  return { type: 'tool-result', toolCallId: call.id, toolName: call.name, output, isError };
}

/** The fields every tool-call event carries. */
function eventBase(call: ToolCallPart, context: ToolRunContext) {
  return { runId: context.runId, turn: context.turn, toolCallId: call.id, toolName: call.name };
}

/** {@link decideAndExecute}, inside the instrumentation's wrapper when there is one. */
async function instrumented(call: ToolCallPart, context: ToolRunContext): Promise<CallOutcome> {
  const { instrumentation } = context;
  if (!instrumentation?.toolCall) return decideAndExecute(call, context);
  let outcome: CallOutcome | undefined;
  const description = context.tools.get(call.name)?.description;
  await instrumentation.toolCall(
    {
      runId: context.runId,
      turn: context.turn,
      toolCallId: call.id,
      toolName: call.name,
      ...(description === undefined ? {} : { description }),
    },
    async (): Promise<ToolCallEnd> => {
      outcome = await decideAndExecute(call, context);
      if (outcome instanceof SuspendSignal) return { kind: 'suspended' };
      if (outcome instanceof ToolFailure)
        return { kind: 'failed', reason: outcome.reason, message: outcome.message };
      return { kind: 'output' };
    },
  );
  if (outcome === undefined) {
    throw new Error(
      `[loopwork] instrumentation.toolCall resolved without running tool call "${call.id}"; it must call execute once`,
    );
  }
  return outcome;
}

async function decideAndExecute(call: ToolCallPart, context: ToolRunContext): Promise<CallOutcome> {
  const tool = context.tools.get(call.name);
  if (!tool) {
    const known = [...context.tools.keys()].join(', ') || '(none)';
    return new ToolFailure(
      'unknown_tool',
      `Unknown tool "${call.name}". Available tools: ${known}.`,
    );
  }
  const decision = await context.hooks.beforeToolCall?.({
    runId: context.runId,
    turn: context.turn,
    toolCall: call,
  });
  if (decision?.action === 'deny') {
    return new ToolFailure('denied', `Tool call "${call.name}" was denied: ${decision.message}`);
  }
  const rawInput = decision?.action === 'rewrite' ? decision.input : call.input;
  const validated = await tool.input['~standard'].validate(rawInput);
  if (validated.issues) {
    return new ToolFailure(
      'invalid_input',
      `Invalid input for tool "${call.name}": ${describeIssues(validated.issues)}. Fix the input and call the tool again.`,
    );
  }
  return execute(tool, validated.value, call, context);
}

/** Microtasks a call may take to count as answering at once (a synchronous or cached tool takes 3 or 4). */
const QUICK_TICKS = 4;

async function execute(
  tool: Tool,
  input: unknown,
  call: ToolCallPart,
  context: ToolRunContext,
): Promise<CallOutcome> {
  context.signal.throwIfAborted();
  const timeoutMs = tool.timeoutMs ?? context.defaultTimeoutMs;
  // The call's signal, aborted by its timeout or by the run (below), is made only when the tool
  // reads it: most tools never do, and an AbortController costs ~2 µs on Node 20 (AbortSignal.any
  // ~10 µs), a large part of the loop's per-turn overhead.
  const signal = lazySignal(context.signal);
  const toolContext = {
    runId: context.runId,
    toolCallId: call.id,
    idempotencyKey: `${context.runId}:${call.id}`,
    turn: context.turn,
    get signal() {
      return signal.get();
    },
    suspend(payload?: unknown): never {
      throw new SuspendSignal(payload);
    },
  };
  const run = executeTool(tool, input, toolContext, call.name);
  // Most tools answer at once (a lookup, a computation): settled within a few microtasks, such a
  // call needs no timer, no abort listener and no race, which cost more than the call itself.
  let quick: CallOutcome | undefined;
  void run.then((outcome) => {
    quick = outcome;
  });
  for (let tick = 0; tick < QUICK_TICKS && quick === undefined; tick++) await undefined;
  // A listener added to an already-aborted signal never fires: the run may have been aborted
  // while the call ran (by the tool itself, even), and the call's signal says so as it would have.
  if (context.signal.aborted) {
    signal.abort(context.signal.reason);
    signal.release();
    throw context.signal.reason;
  }
  if (quick !== undefined) {
    signal.release();
    return quick;
  }
  // One promise for both ways the call is cut short: it resolves on the timeout, and the run's
  // abort rejects it (the run's abort wins even over a tool that ignores its signal: the loop
  // must stop promptly).
  let timer: NodeJS.Timeout | undefined;
  let onAbort = () => {};
  const interrupted = new Promise<ToolFailure>((resolve, reject) => {
    timer = setTimeout(() => {
      signal.abort(new Error(`tool "${call.name}" timed out after ${timeoutMs} ms`));
      resolve(
        new ToolFailure(
          'timeout',
          `Tool "${call.name}" timed out after ${timeoutMs} ms and was stopped.`,
        ),
      );
    }, timeoutMs);
    onAbort = () => {
      signal.abort(context.signal.reason);
      reject(context.signal.reason);
    };
    context.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const outcome = await Promise.race([run, interrupted]);
    context.signal.throwIfAborted();
    return outcome;
  } finally {
    clearTimeout(timer);
    context.signal.removeEventListener('abort', onAbort);
    signal.release();
  }
}

/** The tool's own execution: its output, its suspension, or what it threw as a failure. */
async function executeTool(
  tool: Tool,
  input: unknown,
  toolContext: ToolContext,
  name: string,
): Promise<CallOutcome> {
  try {
    return { output: serializeOutput(await tool.execute(input, toolContext)) };
  } catch (error) {
    if (error instanceof SuspendSignal) return error;
    return new ToolFailure('threw', `Tool "${name}" failed: ${describeThrown(error)}`);
  }
}

/**
 * The call's AbortSignal, made on first `get()`: aborting before that only records the reason,
 * and the signal is then born aborted with it. Once made, it follows the run's signal (`run`)
 * until `release()`, so a tool that reads it sees the run's abort at once, even one that happened
 * during its own synchronous part (before the call's abort listener exists).
 */
function lazySignal(run: AbortSignal) {
  let controller: AbortController | undefined;
  let reason: unknown;
  let aborted = false;
  let followed = false;
  const follow = () => {
    // The run aborted: so is the call.
    abort(run.reason);
  };
  function abort(why: unknown): void {
    if (aborted) return;
    aborted = true;
    reason = why;
    controller?.abort(why);
  }
  return {
    get(): AbortSignal {
      if (!controller) {
        controller = new AbortController();
        if (!aborted && run.aborted) abort(run.reason);
        if (aborted) controller.abort(reason);
        else {
          run.addEventListener('abort', follow, { once: true });
          followed = true;
        }
      }
      return controller.signal;
    },
    abort,
    /** The call is over: stop following the run's signal. */
    release(): void {
      if (followed) run.removeEventListener('abort', follow);
      followed = false;
    },
  };
}

function serializeOutput(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? 'null';
}
