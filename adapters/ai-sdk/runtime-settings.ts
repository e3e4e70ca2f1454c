import type { StopCondition, ToolLoopAgentSettings, ToolSet } from 'ai';
import type { AnyTool } from 'loopwork';
import type { BudgetMiddlewareOptions } from './budget-middleware';
import type { AiSdkLanguageModel } from './types';

/** `ToolLoopAgent` settings passed through unchanged (sampling, provider options, `prepareStep` …). */
export type ToolLoopAgentPassThrough = Omit<
  ToolLoopAgentSettings<never, ToolSet, never>,
  | 'model'
  | 'tools'
  | 'instructions'
  | 'stopWhen'
  | 'onStepFinish'
  | 'onFinish'
  | 'prepareCall'
  | 'callOptionsSchema'
  | 'output'
>;

/** Settings of `toolLoopAgentRuntime`. */
export interface ToolLoopAgentRuntimeSettings
  extends Pick<BudgetMiddlewareOptions, 'modelId' | 'estimateInputTokens'> {
  /** The AI SDK language model (`LanguageModelV3`) every step calls, through loopwork's budget checks. */
  model: AiSdkLanguageModel;
  /** loopwork tools (`defineTool`), given to the agent as AI SDK tools. */
  tools?: AnyTool[];
  /** The agent's instructions (its system prompt). */
  instructions?: string;
  /** Further stop conditions of the agent (`stepCountIs`, `hasToolCall` …); loopwork's `maxTurns` always applies. */
  stopWhen?: StopCondition<ToolSet> | Array<StopCondition<ToolSet>>;
  /** Other `ToolLoopAgent` settings, passed through. A model that `prepareStep` picks is budgeted too. */
  agent?: ToolLoopAgentPassThrough;
  /** Model calls per run, when the run's limits set none. @defaultValue AGENT_DEFAULTS.maxTurns */
  maxTurns?: number;
  /** Largest output of one call before budgets clamp it. @defaultValue AGENT_DEFAULTS.maxTokensPerCall */
  maxTokensPerCall?: number;
  /** Smallest output worth a call. @defaultValue AGENT_DEFAULTS.minTokensPerCall */
  minTokensPerCall?: number;
  /** Time a loopwork tool may run. @defaultValue AGENT_DEFAULTS.toolTimeoutMs */
  toolTimeoutMs?: number;
}
