/** Defaults of {@link AgentOptions}, in one place. */
export const AGENT_DEFAULTS = {
  /**
   * Model calls per run (across resumes).
   * @defaultValue 50
   */
  maxTurns: 50,
  /**
   * Upper bound on generated tokens per model call, before budgets clamp it further.
   * @defaultValue 4096
   */
  maxTokensPerCall: 4096,
  /**
   * The smallest call worth making: when budgets leave less output room than this, the run stops
   * with `budget_exceeded` instead of calling.
   * @defaultValue 256
   */
  minTokensPerCall: 256,
  /**
   * Tool calls of one turn that run at the same time.
   * @defaultValue 4
   */
  toolConcurrency: 4,
  /**
   * Time a tool may run before it is aborted and reported to the model as timed out.
   * @defaultValue 120000 (two minutes)
   */
  toolTimeoutMs: 120_000,
  /**
   * Largest tool output the model sees, in UTF-8 bytes. A longer one is cut there and ends with a
   * marker saying how much was cut; its full text goes to `blobs` when one is set.
   * @defaultValue 131072 (128 KiB, about 32,000 tokens)
   */
  maxToolResultBytes: 128 * 1024,
  /**
   * Retries of one model call after retryable errors.
   * @defaultValue 4
   */
  maxRetries: 4,
  /**
   * First backoff delay; doubles each retry, with equal jitter (a random delay between half and all of it).
   * @defaultValue 1000
   */
  retryMinDelayMs: 1_000,
  /**
   * Longest backoff delay, and the longest `retry-after` the loop will honor.
   * @defaultValue 60000
   */
  retryMaxDelayMs: 60_000,
  /**
   * Answers that may fail the `output` schema (bad JSON, schema mismatch) before the run fails
   * with an `OutputValidationError`; each refused answer is sent back to the model to correct.
   * @defaultValue 3
   */
  maxOutputRetries: 3,
  /**
   * Fraction of a budget at which a `budget-warning` event is emitted (once per budget).
   * @defaultValue 0.8
   */
  budgetWarningAt: 0.8,
} as const;
