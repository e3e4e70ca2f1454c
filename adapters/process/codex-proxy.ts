import { PROCESS_DEFAULTS } from './defaults';
import type { ProcessRun } from './process-run';
import { type ResponsesBudgetProxy, responsesBudgetProxy } from './responses-budget-proxy';

/** Keys of the worker's environment Codex must not see when it goes through the proxy. */
const VENDOR_KEYS = ['OPENAI_API_KEY', 'CODEX_API_KEY'];

/** A run's budget proxy and how Codex is pointed at it. */
export interface RunProxy {
  proxy: ResponsesBudgetProxy;
  /** `-c` overrides that make the proxy Codex's model provider (after the settings' own args). */
  args: string[];
  /** Variables set over the environment (the token). */
  env: Record<string, string>;
  /** Variables removed from the inherited environment (the vendor keys). */
  unset: string[];
}

/**
 * Starts the Responses API budget proxy of one Codex run on the run's own ledger: each call it
 * allows is a `turn-started` event, each one it records a `turn-finished` event and a checkpoint,
 * and a refused call stops the run (`budget_exceeded` or `max_turns`) once Codex has exited, as
 * does an answer cut short by a budget's clamp (Codex fails such a turn).
 */
export async function startRunProxy(run: ProcessRun): Promise<RunProxy> {
  const settings = run.settings.budgetProxy ?? {};
  const { options } = run;
  const runId = options.runId;
  const proxy = await responsesBudgetProxy({
    ledger: run.account.budgetLedger(),
    ...(settings.upstream ? { upstream: settings.upstream } : {}),
    ...(settings.estimateInputTokens ? { estimateInputTokens: settings.estimateInputTokens } : {}),
    secrets: [...(run.settings.redact?.secrets ?? [])],
    onTurnStarted: (turn) =>
      options.emit({
        type: 'turn-started',
        runId,
        turn: turn.turn,
        maxOutputTokens: turn.maxOutputTokens,
        estimatedInputTokens: turn.estimatedInputTokens,
      }),
    onTurn: (record, call) => {
      options.emit({
        type: 'turn-finished',
        runId,
        turn: record.turn,
        usage: record.usage,
        costUsd: record.costUsd,
        stopReason: record.stopReason,
      });
      run.enqueue(() => run.checkpoint());
      // Codex fails a turn whose answer was cut at max_output_tokens: a budget's clamp ended it.
      if (record.stopReason === 'max_tokens' && call.limitedBy)
        run.stop({ status: 'budget_exceeded', budget: call.limitedBy }, true);
    },
    onStop: (stop) =>
      run.stop({ status: stop.status, ...(stop.budget ? { budget: stop.budget } : {}) }, true),
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
    unset: VENDOR_KEYS,
  };
}
