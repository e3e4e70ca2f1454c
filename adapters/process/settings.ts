import {
  type AnyTool,
  type BlobStore,
  InvalidOptionError,
  type RedactOptions,
  type RuntimeResult,
} from 'loopwork';
import { claudeStreamJson } from './claude-format';
import { codexExecJson } from './codex-format';
import type { ProcessFormat } from './format';
import { loopworkNdjson } from './ndjson-format';

/** The built-in formats by name. */
export const PROCESS_FORMATS = {
  'loopwork-ndjson': loopworkNdjson,
  'claude-stream-json': claudeStreamJson,
  'codex-exec-json': codexExecJson,
} as const satisfies Record<string, ProcessFormat>;

/** A built-in format's name. */
export type ProcessFormatName = keyof typeof PROCESS_FORMATS;

/** What `args` is given when it is a function. */
export interface ProcessArgsContext {
  runId: string;
  /** True when the run continues a checkpoint or a session. */
  resumed: boolean;
}

/** Settings of {@link processRuntime}. */
export interface ProcessRuntimeSettings {
  /** The program to run (no shell): `claude`, `codex`, `python3` … */
  command: string;
  /** Its own arguments; the format adds the prompt, the resume id and its output flags. */
  args?: string[] | ((context: ProcessArgsContext) => string[]);
  /** How stdout is read. @defaultValue 'loopwork-ndjson' */
  format?: ProcessFormatName | ProcessFormat;
  /** How the prompt goes in. @defaultValue the format's (`stdin` for loopwork-ndjson, `args` for the CLIs) */
  input?: 'args' | 'stdin';
  /** Working directory of the command. @defaultValue the worker's */
  cwd?: string;
  /** Environment added over the worker's (`undefined` removes a variable). */
  env?: Record<string, string | undefined>;
  /** Start from the worker's environment. @defaultValue true */
  inheritEnv?: boolean;
  /** loopwork tools a loopwork-ndjson agent may ask loopwork to run (`tool-call` lines). */
  tools?: AnyTool[];
  /** Model to price a turn by when the stream names none (Codex never does). */
  modelId?: string;
  /** Model calls per run when the run's limits set none. @defaultValue AGENT_DEFAULTS.maxTurns */
  maxTurns?: number;
  /** Largest output one allowed call may have (loopwork-ndjson). @defaultValue AGENT_DEFAULTS.maxTokensPerCall */
  maxTokensPerCall?: number;
  /** Smallest output worth a call (loopwork-ndjson). @defaultValue AGENT_DEFAULTS.minTokensPerCall */
  minTokensPerCall?: number;
  /** Time a loopwork tool may run. @defaultValue AGENT_DEFAULTS.toolTimeoutMs */
  toolTimeoutMs?: number;
  /** Time to exit after SIGINT before SIGTERM. @defaultValue PROCESS_DEFAULTS.interruptGraceMs */
  interruptGraceMs?: number;
  /** Time to exit after SIGTERM before SIGKILL. @defaultValue PROCESS_DEFAULTS.terminateGraceMs */
  terminateGraceMs?: number;
  /** Longest stdout line read. @defaultValue PROCESS_DEFAULTS.maxLineBytes */
  maxLineBytes?: number;
  /** stderr kept per run. @defaultValue PROCESS_DEFAULTS.maxStderrBytes */
  maxStderrBytes?: number;
  /** Statuses of exit codes, over `{ 0: 'completed' }`; any other code is `failed`. */
  exitCodes?: Record<number, Exclude<RuntimeResult['status'], 'suspended'>>;
  /** Prompt of an attempt that resumes a vendor session after a crash. @defaultValue PROCESS_DEFAULTS.continuePrompt */
  continuePrompt?: string;
  /**
   * Keep the working directory (`cwd`, a git repository) with the run: bundled into `blobs` at
   * each checkpoint and at the end (`persistGitWorkdir`), restored before a resumed run or a
   * follow-up starts (`restoreGitWorkdir`), so another worker continues on the same files.
   */
  workdir?: { blobs: BlobStore; git?: string };
  /** Secrets hidden in stderr and errors, besides the built-in ones. */
  redact?: RedactOptions;
}

const positiveInt = (value: unknown) =>
  typeof value === 'number' && Number.isInteger(value) && value > 0;
const nonNegativeInt = (value: unknown) =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0;

/** Checks the settings; throws {@link InvalidOptionError} naming the first bad one. */
export function checkSettings(settings: ProcessRuntimeSettings): ProcessFormat {
  const fail = (message: string): never => {
    throw new InvalidOptionError(`[loopwork:process] ${message}`);
  };
  if (typeof settings?.command !== 'string' || settings.command.trim() === '')
    fail(
      `command must be a program to run (a non-empty string), got ${JSON.stringify(settings?.command)}`,
    );
  for (const key of [
    'maxTurns',
    'maxTokensPerCall',
    'minTokensPerCall',
    'toolTimeoutMs',
    'maxLineBytes',
    'maxStderrBytes',
  ] as const) {
    if (settings[key] !== undefined && !positiveInt(settings[key]))
      fail(`${key} must be a positive integer, got ${JSON.stringify(settings[key])}`);
  }
  for (const key of ['interruptGraceMs', 'terminateGraceMs'] as const) {
    if (settings[key] !== undefined && !nonNegativeInt(settings[key]))
      fail(
        `${key} must be a non-negative integer (milliseconds), got ${JSON.stringify(settings[key])}`,
      );
  }
  if (settings.input !== undefined && settings.input !== 'args' && settings.input !== 'stdin')
    fail(`input must be 'args' or 'stdin', got ${JSON.stringify(settings.input)}`);
  if (settings.workdir && !settings.cwd)
    fail(
      'workdir keeps the working directory with the run: set cwd to that directory (a git repository)',
    );
  const format = settings.format ?? 'loopwork-ndjson';
  if (typeof format === 'string') {
    const known = PROCESS_FORMATS[format as ProcessFormatName];
    if (!known)
      fail(
        `format must be one of ${Object.keys(PROCESS_FORMATS).join(', ')} or a ProcessFormat object, got ${JSON.stringify(format)}`,
      );
    return known;
  }
  if (typeof format?.decoder !== 'function' || typeof format.args !== 'function')
    fail(
      'format must be a built-in format name or an object implementing ProcessFormat (args, stdin, decoder)',
    );
  return format;
}
