import {
  type AnyTool,
  type BlobStore,
  InvalidOptionError,
  type RedactOptions,
  type RuntimeResult,
} from 'loopwork';
import type { BudgetProxyUpstream } from 'loopwork/claude-agent-sdk';
import { claudeStreamJson } from './claude-format';
import { codexExecJson } from './codex-format';
import { PROCESS_DEFAULTS } from './defaults';
import type { ProcessFormat } from './format';
import { loopworkNdjson } from './ndjson-format';
import type { ResponsesProxyUpstream } from './responses-budget-proxy';
import { PROXIED_FORMATS } from './run-proxy';

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

/**
 * {@link ProcessRuntimeSettings.budgetProxy}: hard budgets for Codex and Claude Code through a
 * loopback proxy of their model API.
 */
export interface ProcessBudgetProxySettings {
  /**
   * Where the calls the proxy allows go. Codex: a Responses API base URL with `/v1` (default
   * `PROCESS_DEFAULTS.upstreamBaseURL`, key `OPENAI_API_KEY`). Claude Code: a Messages API base
   * URL without it (default `CLAUDE_AGENT_SDK_DEFAULTS.upstreamBaseURL`, key `ANTHROPIC_API_KEY`,
   * or `authToken` for a gateway).
   */
  upstream?: ResponsesProxyUpstream | BudgetProxyUpstream;
  /** Codex's `model_providers.<id>` defined for the proxy (Codex only). @defaultValue PROCESS_DEFAULTS.proxyProviderId */
  providerId?: string;
  /** Prompt tokens of a request before it is sent. @defaultValue a high guess (3 bytes a token) */
  estimateInputTokens?(body: Record<string, unknown>): number;
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
  /**
   * `codex-exec-json` and `claude-stream-json`: start a loopback budget proxy of the CLI's model
   * API per run ({@link responsesBudgetProxy} for Codex, pointed at by `-c model_provider=…`;
   * `budgetProxy` of `loopwork/claude-agent-sdk` for Claude Code, pointed at by
   * `ANTHROPIC_BASE_URL` and `ANTHROPIC_API_KEY`), so every model call is clamped before it
   * reaches the vendor and budgets are hard; turns and usage come from the proxy, not the stream.
   */
  budgetProxy?: ProcessBudgetProxySettings;
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
  let known: ProcessFormat;
  if (typeof format === 'string') {
    known = PROCESS_FORMATS[format as ProcessFormatName];
    if (!known)
      fail(
        `format must be one of ${Object.keys(PROCESS_FORMATS).join(', ')} or a ProcessFormat object, got ${JSON.stringify(format)}`,
      );
  } else {
    if (typeof format?.decoder !== 'function' || typeof format.args !== 'function')
      fail(
        'format must be a built-in format name or an object implementing ProcessFormat (args, stdin, decoder)',
      );
    known = format;
  }
  if (settings.budgetProxy !== undefined) checkBudgetProxy(settings.budgetProxy, known, fail);
  return known;
}

function checkBudgetProxy(
  proxy: ProcessBudgetProxySettings,
  format: ProcessFormat,
  fail: (message: string) => never,
): void {
  const formats = Object.keys(PROXIED_FORMATS);
  if (!formats.includes(format.name))
    fail(
      `budgetProxy serves Codex and Claude Code (formats ${formats.map((name) => `'${name}'`).join(', ')}), got format ${JSON.stringify(format.name)}; loopwork-ndjson agents ask leave themselves`,
    );
  if (proxy === null || typeof proxy !== 'object')
    fail(
      `budgetProxy must be an object such as { upstream: { apiKey } }, got ${JSON.stringify(proxy)}`,
    );
  const claude = format.name === 'claude-stream-json';
  const upstream = proxy.upstream as Record<string, unknown> | undefined;
  if (upstream !== undefined && (upstream === null || typeof upstream !== 'object'))
    fail(`budgetProxy.upstream must be an object, got ${JSON.stringify(upstream)}`);
  const baseURL = upstream?.baseURL;
  if (baseURL !== undefined && (typeof baseURL !== 'string' || !/^https?:\/\/[^/]/.test(baseURL)))
    fail(
      `budgetProxy.upstream.baseURL must be an http(s) URL such as '${claude ? 'https://api.anthropic.com' : PROCESS_DEFAULTS.upstreamBaseURL}', got ${JSON.stringify(baseURL)}`,
    );
  const keyEnv = claude ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY';
  for (const key of claude ? ['apiKey', 'authToken'] : ['apiKey']) {
    const value = upstream?.[key];
    if (value !== undefined && (typeof value !== 'string' || !value))
      fail(`budgetProxy.upstream.${key} must be a non-empty string (or unset for ${keyEnv})`);
  }
  if (!claude && upstream?.authToken !== undefined)
    fail(
      'budgetProxy.upstream.authToken is for Claude Code; Codex sends apiKey as its bearer token',
    );
  if (upstream?.fetch !== undefined && typeof upstream.fetch !== 'function')
    fail('budgetProxy.upstream.fetch must be a fetch function');
  if (claude && proxy.providerId !== undefined)
    fail(
      'budgetProxy.providerId names a Codex model provider; Claude Code is pointed at the proxy by ANTHROPIC_BASE_URL: remove it',
    );
  if (proxy.providerId !== undefined && !/^[A-Za-z0-9_-]+$/.test(String(proxy.providerId)))
    fail(
      `budgetProxy.providerId must be letters, digits, '_' or '-' (a Codex config key), got ${JSON.stringify(proxy.providerId)}`,
    );
  if (proxy.estimateInputTokens !== undefined && typeof proxy.estimateInputTokens !== 'function')
    fail('budgetProxy.estimateInputTokens must be a function of the request body');
}
