// Shared pieces of the AI SDK runtime tests: running once with events and checkpoints kept.
import type { AgentEvent, RunState, Runtime, RuntimeResult, RuntimeRunOptions } from 'loopwork';

export const PRICES = { scripted: { inputPerMTok: 3, outputPerMTok: 15 } };

export async function runOnce(
  runtime: Runtime,
  options: Partial<RuntimeRunOptions> & { runId: string },
): Promise<{ result: RuntimeResult; events: AgentEvent[]; checkpoints: RunState[] }> {
  const events: AgentEvent[] = [];
  const checkpoints: RunState[] = [];
  const result = await runtime.run({
    input: { prompt: 'go' },
    limits: { prices: PRICES },
    signal: new AbortController().signal,
    emit: (event) => events.push(event),
    checkpoint: async (state) => void checkpoints.push(structuredClone(state)),
    ...options,
  });
  return { result, events, checkpoints };
}

/** A V3 usage report. */
export const v3Usage = (input: number, output: number) => ({
  inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: output, text: output, reasoning: 0 },
});
