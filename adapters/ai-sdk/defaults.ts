/** Defaults of the AI SDK runtime (`toolLoopAgentRuntime`), in one place. */
export const AI_SDK_RUNTIME_DEFAULTS = {
  /**
   * Retries of a failed model call inside the AI SDK (rate limits, overloaded, server errors).
   * Each retry is a new call, cleared by the budget ledger like the first.
   * @defaultValue 2 (the AI SDK's own default)
   */
  maxRetries: 2,
} as const;
