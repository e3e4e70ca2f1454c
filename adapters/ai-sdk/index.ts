/**
 * The Vercel AI SDK adapter: `import { aiSdk, toolLoopAgentRuntime } from 'loopwork/ai-sdk'`.
 * Wraps any `ai` 6 language model (`LanguageModelV3`) as a loopwork model, and runs the AI SDK's
 * `ToolLoopAgent` as a loopwork runtime with hard budgets; needs the optional peer dependency `ai`.
 *
 * @packageDocumentation
 */

export type { AgentHandle } from './agent-handle';
export type { AiSdkModelOptions } from './ai-sdk-model';
export { aiSdk } from './ai-sdk-model';
export type { BudgetMiddlewareOptions, TurnFinish, TurnStart } from './budget-middleware';
export { budgetMiddleware } from './budget-middleware';
export { AI_SDK_RUNTIME_DEFAULTS } from './defaults';
export type { AiSdkToolsOptions } from './loopwork-tools';
export { aiSdkTools } from './loopwork-tools';
export type {
  ToolLoopAgentPassThrough,
  ToolLoopAgentRuntimeSettings,
} from './runtime-settings';
export type {
  ScriptedLanguageModel,
  ScriptedLanguageModelOptions,
} from './scripted-language-model';
export { scriptedLanguageModel } from './scripted-language-model';
export { toolLoopAgentRuntime } from './tool-loop-runtime';
export type { AiSdkCallSettings, AiSdkLanguageModel, V3CallOptions } from './types';
