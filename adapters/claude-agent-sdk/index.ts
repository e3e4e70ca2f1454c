/**
 * The Claude Agent SDK adapter: `import { claudeAgentRuntime } from 'loopwork/claude-agent-sdk'`.
 * Runs Claude Code through `@anthropic-ai/claude-agent-sdk` (an optional peer dependency) as a
 * loopwork runtime, with hard budgets through a loopback budget proxy speaking the Anthropic
 * Messages API, the session checkpointed for resume on any worker, and loopwork tools as an
 * in-process MCP server. `budgetProxy` serves any client of the Messages API (`claude -p`).
 *
 * @packageDocumentation
 */

export type {
  BudgetProxy,
  BudgetProxyOptions,
  BudgetProxyUpstream,
  ProxyTurnStart,
} from './budget-proxy';
export { budgetProxy } from './budget-proxy';
export type { ClaudeAgentRuntimeSettings } from './claude-agent-runtime';
export { claudeAgentRuntime } from './claude-agent-runtime';
export { CLAUDE_AGENT_SDK_DEFAULTS } from './defaults';
export type {
  FakeAnthropicUpstream,
  FakeAnthropicUpstreamOptions,
} from './fake-anthropic-upstream';
export { fakeAnthropicUpstream } from './fake-anthropic-upstream';
export type { ClaudeSessionHandle, TranscriptEntry } from './session-handle';
