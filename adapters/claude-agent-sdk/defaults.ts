/** Defaults of the Claude Agent SDK adapter, in one place. */
export const CLAUDE_AGENT_SDK_DEFAULTS = {
  /**
   * Where the budget proxy sends allowed requests.
   * @defaultValue 'https://api.anthropic.com'
   */
  upstreamBaseURL: 'https://api.anthropic.com',
  /**
   * Name of the in-process MCP server that serves loopwork tools: the model sees a tool `step`
   * as `mcp__loopwork__step`.
   * @defaultValue 'loopwork'
   */
  mcpServerName: 'loopwork',
  /**
   * Largest output of one model call before budgets clamp it: what Claude Code asks for itself
   * (its extended thinking budget is lowered to fit below whatever the clamp allows).
   * @defaultValue 32000
   */
  maxTokensPerCall: 32_000,
  /**
   * Claude Code's built-in tools given to the agent (its `tools` option): none, so that only the
   * loopwork tools you pass run, each under loopwork's events and idempotency keys. Enable
   * built-ins with `builtinTools: ['Read', 'Grep']` (and list them in `allowedTools`).
   * @defaultValue []
   */
  builtinTools: [] as readonly string[],
  /**
   * Environment the runtime sets for the Claude Code process on top of `process.env`: no
   * telemetry, update checks or other traffic besides model calls (which all go to the proxy).
   */
  env: {
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
  } as Readonly<Record<string, string>>,
} as const;
