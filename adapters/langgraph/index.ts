/**
 * The LangGraph adapter: `import { langGraphRuntime } from 'loopwork/langgraph'`. Runs LangGraph
 * graphs (`@langchain/langgraph` 1.x, `@langchain/core` 1.x, optional peer dependencies) as
 * loopwork runtimes, with hard budgets on their chat model, their checkpoints in loopwork's
 * stores, interrupts as suspended runs, and `streamEvents` as loopwork events.
 *
 * @packageDocumentation
 */

export type {
  BudgetedChatModel,
  BudgetedChatModelOptions,
  TurnFinishedData,
  TurnStartedData,
} from './budgeted-chat-model';
export { budgetedChatModel } from './budgeted-chat-model';
export type { LoopworkCheckpointerOptions } from './checkpointer';
export { loopworkCheckpointer } from './checkpointer';
export { LANGGRAPH_DEFAULTS } from './defaults';
export type {
  LangGraphContext,
  LangGraphGraph,
  LangGraphRuntimeSettings,
} from './langgraph-runtime';
export { langGraphRuntime } from './langgraph-runtime';
export type { ScriptedChatModel, ScriptedChatModelOptions } from './scripted-chat-model';
export { scriptedChatModel } from './scripted-chat-model';
export type { StoredCheckpoint, StoredValue, StoredWrite, ThreadHandle } from './thread-handle';
export type { LangChainToolsOptions, SuspendValue } from './tools';
export { langChainTools } from './tools';
