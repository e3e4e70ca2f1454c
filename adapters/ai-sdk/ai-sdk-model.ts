import {
  InvalidOptionError,
  type Model,
  type ModelCallOptions,
  ModelError,
  type ModelRequest,
  type ModelResponse,
  type ModelStreamPart,
} from 'loopwork';
import { fromGenerateResult } from './from-result';
import { createRedactor, type ErrorContext, toAdapterError } from './map-error';
import { StreamAssembler, StreamErrorPart } from './stream-assembler';
import { toCallOptions } from './to-call-options';
import type { AiSdkCallSettings, AiSdkLanguageModel } from './types';

/** Options of {@link aiSdk}. */
export interface AiSdkModelOptions {
  /**
   * Provider name used in events, errors and `ModelError.provider`.
   * @defaultValue the language model's own `provider` (for example `openai.chat`)
   */
  provider?: string;
  /** Sampling and request settings passed unchanged to every call (`temperature`, `seed`, `headers` …). */
  settings?: AiSdkCallSettings;
  /**
   * Strings (API keys, tokens) to scrub from error messages, in addition to the key-like
   * patterns (`sk-…`, `Bearer …`) scrubbed always. The adapter never sees the provider's key,
   * so pass it here when a provider may echo it back in an error body.
   */
  secrets?: readonly string[];
}

/**
 * Wraps any language model of the Vercel AI SDK (`ai` 6, `LanguageModelV3`) as a loopwork
 * {@link Model}, so every provider the AI SDK supports can drive an agent.
 *
 * The adapter calls the model's `doGenerate` / `doStream` directly: each makes exactly one HTTP
 * request with no retries (the AI SDK retries only inside `generateText` / `streamText`), so
 * the loop's retry policy, with its events and budgets, is the only one. Errors become
 * {@link ModelError}s whose kind, `retryable` and `retryAfterMs` come from the HTTP status and
 * `retry-after` / `retry-after-ms` headers; an aborted call rejects with the abort reason.
 *
 * Tool-call arguments that are not valid JSON are passed on as the raw text (a string), so the
 * loop's input validation answers the model with an `invalid_input` tool error it can correct.
 *
 * @example
 * ```ts
 * import { createOpenAI } from '@ai-sdk/openai';
 * import { runAgent } from 'loopwork';
 * import { aiSdk } from 'loopwork/ai-sdk';
 *
 * const openai = createOpenAI({ apiKey: process.env.OPENAI_API_KEY });
 * const model = aiSdk(openai('gpt-5-mini'), { settings: { temperature: 0 } });
 * const result = await runAgent({ model, prompt: 'Say hello', maxCostUsd: 0.1 });
 * ```
 */
export function aiSdk(languageModel: AiSdkLanguageModel, options: AiSdkModelOptions = {}): Model {
  const version = (languageModel as { specificationVersion?: unknown } | undefined)
    ?.specificationVersion;
  if (version !== 'v3') {
    throw new InvalidOptionError(
      `languageModel must be an AI SDK LanguageModelV3 (specificationVersion 'v3', from ai 6 providers), got ${JSON.stringify(version)}`,
    );
  }
  const provider = options.provider ?? languageModel.provider;
  const settings = options.settings ?? {};
  const redact = createRedactor(options.secrets ?? []);
  const contextFor = (signal: AbortSignal): ErrorContext => ({ provider, signal, redact });

  return {
    specificationVersion: 'loopwork.model.v1',
    provider,
    modelId: languageModel.modelId,
    // `responseFormat` goes to the call options' `responseFormat`; each provider maps it (or warns).
    supportsResponseFormat: true,

    async generate(request: ModelRequest, { signal }: ModelCallOptions): Promise<ModelResponse> {
      signal.throwIfAborted();
      try {
        const call = languageModel.doGenerate(toCallOptions(request, signal, settings));
        return fromGenerateResult(await untilAborted(Promise.resolve(call), signal));
      } catch (error) {
        throw toAdapterError(error, contextFor(signal));
      }
    },

    async *stream(request: ModelRequest, { signal }: ModelCallOptions) {
      signal.throwIfAborted();
      const context = contextFor(signal);
      let reader: ReadableStreamDefaultReader<unknown> | undefined;
      try {
        const call = languageModel.doStream(toCallOptions(request, signal, settings));
        const { stream } = await untilAborted(Promise.resolve(call), signal);
        const activeReader = stream.getReader();
        reader = activeReader;
        const assembler = new StreamAssembler();
        while (true) {
          const { done, value } = await untilAborted(activeReader.read(), signal);
          if (done) break;
          const parts: ModelStreamPart[] = assembler.accept(value);
          for (const part of parts) yield part;
        }
        reader = undefined;
        const response = assembler.result();
        if (!response) {
          throw new ModelError(
            `[loopwork:ai-sdk] ${provider}: stream ended without a finish part`,
            {
              kind: 'network',
              provider,
            },
          );
        }
        yield { type: 'finish', response } satisfies ModelStreamPart;
      } catch (error) {
        throw toAdapterError(error instanceof StreamErrorPart ? error.error : error, context);
      } finally {
        // Early exit (error, abort, or the consumer stopped iterating): release the connection.
        // Not awaited: a cancel may never settle (see test/helpers/msw-fetch.ts).
        reader?.cancel().catch(() => {});
      }
    },
  };
}

/**
 * Settles with `promise`, or rejects with the signal's reason as soon as it aborts, even if the
 * provider ignores its `abortSignal`.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
