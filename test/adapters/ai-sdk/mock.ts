/** Builders of V3 results for tests that drive the adapter with `MockLanguageModelV3`. */
import type { AiSdkLanguageModel } from 'loopwork/ai-sdk';

export type V3GenerateResult = Awaited<ReturnType<AiSdkLanguageModel['doGenerate']>>;
export type V3StreamPart =
  Awaited<ReturnType<AiSdkLanguageModel['doStream']>>['stream'] extends ReadableStream<infer P>
    ? P
    : never;
type V3Usage = V3GenerateResult['usage'];

export function v3Usage(
  input: Partial<V3Usage['inputTokens']> = {},
  output: Partial<V3Usage['outputTokens']> = {},
): V3Usage {
  return {
    inputTokens: { total: 12, noCache: 12, cacheRead: 0, cacheWrite: 0, ...input },
    outputTokens: { total: 6, text: 6, reasoning: 0, ...output },
  };
}

export function v3Result(overrides: Partial<V3GenerateResult> = {}): V3GenerateResult {
  return {
    content: [{ type: 'text', text: 'Hello.' }],
    finishReason: { unified: 'stop', raw: 'stop' },
    usage: v3Usage(),
    warnings: [],
    response: { id: 'resp_1', modelId: 'mock-model-2025' },
    ...overrides,
  };
}

/** A V3 stream of `parts`; with `hang`, it stays open after them (for abort tests). */
export function v3Stream(parts: V3StreamPart[], hang = false) {
  return {
    stream: new ReadableStream<V3StreamPart>({
      start(controller) {
        for (const part of parts) controller.enqueue(part);
        if (!hang) controller.close();
      },
    }),
  };
}
