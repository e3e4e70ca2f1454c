import type { RunStatus, RuntimeLimits, StopReason, Usage } from 'loopwork';

/** What a format knows of the run it serves. */
export interface FormatRun {
  runId: string;
  /** The prompt to send: the task's, or on an attempt resume of a vendor session, the continue prompt. */
  prompt?: string;
  /** Answers to suspended calls, by tool call id (loopwork-ndjson passes them on). */
  answers?: Record<string, unknown>;
  /** The format's own handle from the checkpoint, absent on a fresh start. */
  handle?: unknown;
  /** Why there is a handle: the run's own earlier attempt, or the session it follows up. */
  resumeKind?: 'attempt' | 'session';
  /** The run's limits (loopwork-ndjson passes them to the agent). */
  limits: RuntimeLimits;
  /** The loopwork tools the agent may ask loopwork to run (loopwork-ndjson only). */
  tools: Array<{ name: string; description: string; inputSchema: unknown }>;
  /** How the prompt goes in: as arguments, or on stdin. */
  input: 'args' | 'stdin';
  /** Model calls the run may still make, when `limits.maxTurns` sets a cap. */
  remainingTurns?: number;
  /** The settings' own arguments, placed where the format wants them. */
  extraArgs: string[];
}

/** What one stdout line means, in loopwork's terms. A decoder returns any number per line. */
export type Signal =
  /** Text the agent wrote (a delta or a whole block). */
  | { kind: 'text'; text: string }
  /** A tool call the agent makes itself (`by: 'agent'`) or asks loopwork to run (`by: 'loopwork'`). */
  | { kind: 'tool-call'; id: string; name: string; input: unknown; by: 'agent' | 'loopwork' }
  /** The result of a call the agent ran itself. */
  | { kind: 'tool-result'; id: string; output: string; isError: boolean }
  /** A model call that finished, with what it used (loopwork prices it). */
  | { kind: 'turn'; modelId?: string; usage: Usage; stopReason: StopReason; callId?: string }
  /** A model call the agent asks leave for (loopwork-ndjson): loopwork answers on stdin. */
  | {
      kind: 'model-call';
      id: string;
      modelId: string;
      estimatedInputTokens: number;
      maxOutputTokens?: number;
    }
  /** The agent's state to continue from: kept in the checkpoint as `runtime.handle`. */
  | { kind: 'handle'; handle: unknown; checkpoint: boolean }
  /** How the agent says the run ended. */
  | {
      kind: 'result';
      status: Exclude<RunStatus, 'running' | 'suspended'>;
      output?: unknown;
      error?: string;
    };

/** Parses one run's stdout lines. */
export interface FormatDecoder {
  /** The signals of one parsed JSON line. Throws for a line that breaks the format (the run fails). */
  decode(line: unknown): Signal[];
}

/**
 * An NDJSON stdout format: how a command is given a run (arguments, stdin) and how its lines map
 * to loopwork. Built in: `loopwork-ndjson`, `claude-stream-json`, `codex-exec-json`.
 */
export interface ProcessFormat {
  /** Its name, in the runtime's name (`process:<name>`) and its errors. */
  readonly name: string;
  /** Malformed or oversized lines: `fail` the run, or `skip` them (CLIs may print other lines). */
  readonly badLines: 'fail' | 'skip';
  /**
   * `snapshot`: a handle is a point the agent restarts from (what came after it is done again);
   * `session`: the vendor keeps the session itself, the handle only names it.
   */
  readonly handleKind: 'snapshot' | 'session';
  /** How the prompt goes in when the settings do not say. */
  readonly defaultInput: 'args' | 'stdin';
  /** The command's arguments for a run (`run.extraArgs` among them). */
  args(run: FormatRun): string[];
  /** What to write to stdin first. */
  stdin(run: FormatRun): string | undefined;
  /** True when stdin stays open for replies (loopwork-ndjson), false to close it after `stdin()`. */
  readonly keepsStdinOpen: boolean;
  /** A decoder for one run. */
  decoder(run: FormatRun): FormatDecoder;
}

/** Reads a number field that may be missing or null. */
export const num = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;

/** An object's field, when the value is an object. */
export const field = (value: unknown, key: string): unknown =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;

/** A tool result's content as the text the model read. */
export function textOfContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((block) => (typeof field(block, 'text') === 'string' ? field(block, 'text') : ''))
      .join('');
  }
  return content === undefined ? '' : JSON.stringify(content);
}
