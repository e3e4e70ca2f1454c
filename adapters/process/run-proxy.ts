import type { BudgetStop, TurnRecord } from 'loopwork';
import { budgetProxy } from 'loopwork/claude-agent-sdk';
import { PROCESS_DEFAULTS } from './defaults';
import type { ProcessRun } from './process-run';
import { responsesBudgetProxy } from './responses-budget-proxy';

/** What the run needs of a budget proxy, whichever API it speaks. */
export interface RunBudgetProxy {
  readonly url: string;
  readonly token: string;
  /** A call the ledger could not judge (no price with `maxCostUsd`), once one came. */
  readonly failure: Error | undefined;
  close(): Promise<void>;
}

/** A run's budget proxy and how the CLI is pointed at it. */
export interface RunProxy {
  proxy: RunBudgetProxy;
  /** Arguments added after the settings' own (Codex's `-c` overrides). */
  args: string[];
  /** Variables set over the environment (the proxy's URL and token). */
  env: Record<string, string>;
  /** Variables removed from the environment, the settings' `env` included (the vendor keys). */
  unset: string[];
}

/** Starts the proxy of one format, for one run. */
type ProxyStarter = (run: ProcessRun) => Promise<RunProxy>;

/**
 * The formats `budgetProxy` serves, and how each one's proxy is started. Every proxy works on the
 * run's own ledger ({@link proxyHooks}); they differ in the API they speak and how the CLI is
 * pointed at them.
 */
export const PROXIED_FORMATS: Record<string, ProxyStarter> = {
  'codex-exec-json': startCodexProxy,
  'claude-stream-json': startClaudeProxy,
};

/** Starts the budget proxy of the run's format (checkSettings allowed only those above). */
export function startRunProxy(run: ProcessRun): Promise<RunProxy> {
  const start = PROXIED_FORMATS[run.format.name];
  if (!start) throw new Error(`[loopwork:process] no budget proxy for ${run.format.name}`);
  return start(run);
}

/**
 * What every proxy does with the run: each call it allows is a `turn-started` event, each one it
 * records a `turn-finished` event and a checkpoint, and a refused call stops the run
 * (`budget_exceeded` or `max_turns`) gently: the CLI was told and ends on its own.
 */
function proxyHooks(run: ProcessRun) {
  const { options } = run;
  const runId = options.runId;
  return {
    ledger: run.account.budgetLedger(),
    secrets: [...(run.settings.redact?.secrets ?? [])],
    ...(run.settings.budgetProxy?.estimateInputTokens
      ? { estimateInputTokens: run.settings.budgetProxy.estimateInputTokens }
      : {}),
    onTurnStarted: (turn: {
      turn: number;
      maxOutputTokens: number;
      estimatedInputTokens: number;
    }) =>
      options.emit({
        type: 'turn-started',
        runId,
        turn: turn.turn,
        maxOutputTokens: turn.maxOutputTokens,
        estimatedInputTokens: turn.estimatedInputTokens,
      }),
    onTurn: (record: TurnRecord) => {
      options.emit({
        type: 'turn-finished',
        runId,
        turn: record.turn,
        usage: record.usage,
        costUsd: record.costUsd,
        stopReason: record.stopReason,
      });
      run.enqueue(() => run.checkpoint());
    },
    onStop: (stop: BudgetStop) =>
      run.stop({ status: stop.status, ...(stop.budget ? { budget: stop.budget } : {}) }, true),
  };
}

/** Keys of the worker's environment Codex must not see when it goes through the proxy. */
const OPENAI_KEYS = ['OPENAI_API_KEY', 'CODEX_API_KEY'];

/**
 * Codex through the Responses API proxy ({@link responsesBudgetProxy}), made its model provider
 * by `-c` overrides. An answer cut short by a budget's clamp also ends the run: Codex fails it.
 */
async function startCodexProxy(run: ProcessRun): Promise<RunProxy> {
  const settings = run.settings.budgetProxy ?? {};
  const hooks = proxyHooks(run);
  const proxy = await responsesBudgetProxy({
    ...hooks,
    ...(settings.upstream ? { upstream: settings.upstream } : {}),
    onTurn: (record, call) => {
      hooks.onTurn(record);
      if (record.stopReason === 'max_tokens' && call.limitedBy)
        run.stop({ status: 'budget_exceeded', budget: call.limitedBy }, true);
    },
  });
  const id = settings.providerId ?? PROCESS_DEFAULTS.proxyProviderId;
  const tokenEnv = PROCESS_DEFAULTS.proxyTokenEnv;
  const config = {
    model_provider: id,
    [`model_providers.${id}.name`]: 'loopwork budget proxy',
    [`model_providers.${id}.base_url`]: `${proxy.url}/v1`,
    [`model_providers.${id}.env_key`]: tokenEnv,
    [`model_providers.${id}.wire_api`]: 'responses',
  };
  return {
    proxy,
    args: Object.entries(config).flatMap(([key, value]) => [
      '-c',
      `${key}=${JSON.stringify(value)}`,
    ]),
    env: { [tokenEnv]: proxy.token },
    unset: OPENAI_KEYS,
  };
}

/**
 * Variables that would take Claude Code past the proxy: other credentials (sent instead of or
 * besides the proxy's token) and other providers (Bedrock, Vertex, Foundry).
 */
const ANTHROPIC_KEYS = [
  'ANTHROPIC_AUTH_TOKEN',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'CLAUDE_CODE_USE_BEDROCK',
  'CLAUDE_CODE_USE_VERTEX',
  'CLAUDE_CODE_USE_FOUNDRY',
];

/** Claude Code through the Anthropic Messages API proxy ({@link budgetProxy}), by environment. */
async function startClaudeProxy(run: ProcessRun): Promise<RunProxy> {
  const upstream = run.settings.budgetProxy?.upstream;
  const proxy = await budgetProxy({ ...proxyHooks(run), ...(upstream ? { upstream } : {}) });
  return {
    proxy,
    args: [],
    env: { ANTHROPIC_BASE_URL: proxy.url, ANTHROPIC_API_KEY: proxy.token },
    unset: ANTHROPIC_KEYS,
  };
}
