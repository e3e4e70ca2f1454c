/** Defaults of the process runtime, in one place. */
export const PROCESS_DEFAULTS = {
  /**
   * Time the process group has to exit after SIGINT before it gets SIGTERM.
   * @defaultValue 5000
   */
  interruptGraceMs: 5_000,
  /**
   * Time the process group has to exit after SIGTERM before it gets SIGKILL.
   * @defaultValue 5000
   */
  terminateGraceMs: 5_000,
  /**
   * Longest stdout line read, in bytes. A longer line is not parsed: the run fails (strict
   * formats) or the line is skipped and counted (lenient ones). Claude Code prints a whole tool
   * result on one line, hence the room.
   * @defaultValue 8 MiB
   */
  maxLineBytes: 8 * 1024 * 1024,
  /**
   * stderr kept per run (its last bytes), redacted, for the error of a failed run.
   * @defaultValue 64 KiB
   */
  maxStderrBytes: 64 * 1024,
  /**
   * Prompt sent when a run resumes a vendor session after a crash (`claude --resume`,
   * `codex exec resume`): the session holds the work, the agent is asked to go on with it.
   * @defaultValue 'Continue the task from where you stopped.'
   */
  continuePrompt: 'Continue the task from where you stopped.',
  /**
   * Where the Responses API budget proxy sends the calls it allows (`/responses` is appended).
   * @defaultValue 'https://api.openai.com/v1'
   */
  upstreamBaseURL: 'https://api.openai.com/v1',
  /**
   * Codex's `model_providers.<id>` the runtime defines for the budget proxy.
   * @defaultValue 'loopwork'
   */
  proxyProviderId: 'loopwork',
  /**
   * The environment variable that carries the proxy's token to Codex (`env_key`).
   * @defaultValue 'LOOPWORK_PROXY_TOKEN'
   */
  proxyTokenEnv: 'LOOPWORK_PROXY_TOKEN',
  /**
   * Largest output of one Codex call through the budget proxy when `maxTokensPerCall` is unset:
   * Codex sends no `max_output_tokens` and fails a turn cut short by it (reasoning counts too),
   * so the proxy's cap is generous; budgets still clamp it to what they allow.
   * @defaultValue 32768
   */
  proxyMaxTokensPerCall: 32_768,
} as const;
