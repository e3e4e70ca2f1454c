import type { LanguageModel } from 'ai';

/**
 * A language model of the Vercel AI SDK (`LanguageModelV3`, specification `v3`), as returned by
 * any provider package: `openai('gpt-5')`, `anthropic('claude-sonnet-4-5')`, `google(…)`, …
 *
 * Derived from the `ai` package's own `LanguageModel` type so that the adapter needs no import
 * from `@ai-sdk/provider` (a transitive dependency that strict package managers hide).
 */
export type AiSdkLanguageModel = Extract<LanguageModel, { specificationVersion: 'v3' }>;

/** Options of one `doGenerate` / `doStream` call. */
export type V3CallOptions = Parameters<AiSdkLanguageModel['doGenerate']>[0];
/** What `doGenerate` resolves with. */
export type V3GenerateResult = Awaited<ReturnType<AiSdkLanguageModel['doGenerate']>>;
/** One part of the stream `doStream` returns. */
export type V3StreamPart =
  Awaited<ReturnType<AiSdkLanguageModel['doStream']>>['stream'] extends ReadableStream<infer Part>
    ? Part
    : never;
/** A message of the V3 prompt. */
export type V3Message = V3CallOptions['prompt'][number];
/** Token usage as the V3 specification reports it. */
export type V3Usage = V3GenerateResult['usage'];
/** Finish reason as the V3 specification reports it. */
export type V3FinishReason = V3GenerateResult['finishReason'];
/** Call settings the adapter passes through to every call unchanged. */
export type AiSdkCallSettings = Pick<
  V3CallOptions,
  | 'temperature'
  | 'topP'
  | 'topK'
  | 'presencePenalty'
  | 'frequencyPenalty'
  | 'seed'
  | 'headers'
  | 'toolChoice'
>;
