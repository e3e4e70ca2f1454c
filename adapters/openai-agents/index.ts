/**
 * The OpenAI Agents adapter: `import { openAIAgentsRuntime } from 'loopwork/openai-agents'`.
 * Runs OpenAI Agents SDK agents (`@openai/agents` 0.14, an optional peer dependency) as loopwork
 * runtimes, with hard budgets on every model call, the SDK's `RunState` checkpointed as a string,
 * tool approvals as suspended runs, and the SDK's stream as loopwork events.
 *
 * @packageDocumentation
 */

export type { ApprovalAnswer } from './approvals';
export type { BudgetedModelEvent, BudgetedModelOptions } from './budgeted-model';
export { budgetedModel } from './budgeted-model';
export { OPENAI_AGENTS_DEFAULTS } from './defaults';
export type { OpenAIAgentsContext, OpenAIAgentsRuntimeSettings } from './openai-agents-runtime';
export { openAIAgentsRuntime } from './openai-agents-runtime';
export type { AgentsRunHandle } from './run-handle';
export type { ScriptedAgentsModel, ScriptedAgentsModelOptions } from './scripted-model';
export { scriptedAgentsModel } from './scripted-model';
export type { AgentsToolsOptions, NeedsApproval, ToolOutcome } from './tools';
export { agentsTools } from './tools';
