/** Defaults of the OpenAI Agents adapter, in one place. */
export const OPENAI_AGENTS_DEFAULTS = {
  /**
   * The SDK's own `maxTurns` per `Runner.run`. High on purpose: loopwork's `maxTurns` (counted by
   * the budget ledger over the whole run, resumes included) is the run's cap; the SDK's would
   * restart its count on every resume.
   * @defaultValue 1000000
   */
  sdkMaxTurns: 1_000_000,
  /**
   * Name of the agent the runtime builds when given neither `agent` nor `createAgent`.
   * @defaultValue 'assistant'
   */
  agentName: 'assistant',
} as const;
