/**
 * Process runtimes: `import { processRuntime, processTask } from 'loopwork/process'`. Runs a
 * command per run in its own process group — CLI agents (`claude -p --output-format stream-json`,
 * `codex exec --json`) and agents in any language speaking loopwork's NDJSON protocol
 * (docs/runtimes/process.md) — with events, checkpoints, resume by session or thread id, cancel
 * by SIGINT → SIGTERM → SIGKILL to the group, and budgets — hard ones for Codex and Claude Code
 * through `budgetProxy`: a loopback proxy of their model API ({@link responsesBudgetProxy} for
 * Codex, the Messages API proxy of `loopwork/claude-agent-sdk` for Claude Code). No peer
 * dependencies.
 *
 * @packageDocumentation
 */

export type { ClaudeHandle } from './claude-format';
export { claudeStreamJson } from './claude-format';
export type { CodexHandle } from './codex-format';
export { codexExecJson } from './codex-format';
export { PROCESS_DEFAULTS } from './defaults';
export type { FormatDecoder, FormatRun, ProcessFormat, Signal } from './format';
export { loopworkNdjson, NDJSON_PROTOCOL } from './ndjson-format';
export { processRuntime } from './process-runtime';
export type { ProcessTaskOptions } from './process-task';
export { processTask } from './process-task';
export type {
  ResponsesBudgetProxy,
  ResponsesBudgetProxyOptions,
  ResponsesProxyCall,
  ResponsesProxyTurnStart,
  ResponsesProxyUpstream,
} from './responses-budget-proxy';
export { responsesBudgetProxy } from './responses-budget-proxy';
export type {
  ProcessArgsContext,
  ProcessBudgetProxySettings,
  ProcessFormatName,
  ProcessRuntimeSettings,
} from './settings';
export { PROCESS_FORMATS } from './settings';
