import { Anthropic, type ClientOptions } from '@anthropic-ai/sdk';
import type {
  Message,
  MessageCreateParamsNonStreaming,
  RawMessageStreamEvent,
} from '@anthropic-ai/sdk/resources/messages';
import {
  InvalidOptionError,
  type Model,
  type ModelCallOptions,
  ModelError,
  type ModelRequest,
  type ModelResponse,
  type ModelStreamPart,
} from 'loopwork';
import { abortReason, rethrow, toModelError } from './errors';
import { fromMessage } from './from-response';
import { StreamAssembler } from './stream-assembler';
import { toRequestBody } from './to-request';

/** Options of {@link anthropic}. */
export interface AnthropicModelOptions {
  /** Model id sent to the API and looked up in the price table, for example `claude-sonnet-5-5`. */
  model: string;
  /**
   * A configured client. When given, `apiKey`, `baseURL`, `timeout`, `fetch` and
   * `defaultHeaders` are not used (configure them on the client).
   */
  client?: Anthropic;
  /** API key for the client this adapter creates. Default: the SDK reads `ANTHROPIC_API_KEY`. */
  apiKey?: string;
  /** Base URL for the client this adapter creates (a proxy or gateway). */
  baseURL?: string;
  /**
   * Retries the SDK makes on its own, per call, also for a `client` you pass in. Off by default
   * so that the loop's retry policy (with `model-retry` events and `retry-after`) governs.
   * @defaultValue 0
   */
  maxRetries?: number;
  /** Request timeout in milliseconds for the client this adapter creates (the SDK's default otherwise). */
  timeout?: number;
  /** `fetch` for the client this adapter creates (tests, proxies, instrumentation). */
  fetch?: ClientOptions['fetch'];
  /** Extra headers for the client this adapter creates (a beta flag, for example). */
  defaultHeaders?: Record<string, string>;
}

/**
 * A {@link Model} over Anthropic's Messages API (`@anthropic-ai/sdk`, an optional peer dependency).
 *
 * `generate` calls `messages.create`; `stream` calls `messages.create({ stream: true })` and
 * yields text and tool-input deltas, then one `finish` part equal to what `generate` returns for
 * the same answer. `thinking` and `redacted_thinking` blocks become reasoning parts of the
 * assistant message (signature or encrypted data in `providerMetadata.anthropic`) and go back to
 * the API exactly as received, so they survive checkpoints and resumes. Errors are
 * {@link ModelError}s (kinds in docs/models/anthropic.md); an abort rejects with the signal's
 * reason. Per-request Messages API fields go in `providerOptions.anthropic` (merged into the
 * request body).
 *
 * @example
 * ```ts
 * import { runAgent } from 'loopwork';
 * import { anthropic } from 'loopwork/anthropic';
 *
 * const model = anthropic({ model: 'claude-sonnet-5-5' }); // key from ANTHROPIC_API_KEY
 * const result = await runAgent({
 *   model,
 *   prompt: 'Summarize the release notes.',
 *   maxCostUsd: 0.25,
 *   providerOptions: { anthropic: { metadata: { user_id: 'user-42' } } },
 * });
 * ```
 */
export function anthropic(options: AnthropicModelOptions): Model {
  validate(options);
  const client = options.client ?? createClient(options);
  const maxRetries = options.maxRetries ?? 0;
  const modelId = options.model;
  const secrets = (): string[] =>
    [options.apiKey, client.apiKey, client.authToken].filter(
      (secret): secret is string => typeof secret === 'string' && secret.length > 0,
    );

  async function generate(
    request: ModelRequest,
    { signal }: ModelCallOptions,
  ): Promise<ModelResponse> {
    signal.throwIfAborted();
    const body = toRequestBody(request, modelId);
    let message: Message;
    try {
      message = await start(() =>
        client.messages.create(body as MessageCreateParamsNonStreaming, { signal, maxRetries }),
      );
    } catch (error) {
      rethrow(error, signal, secrets());
    }
    return fromMessage(message);
  }

  async function* stream(
    request: ModelRequest,
    { signal }: ModelCallOptions,
  ): AsyncGenerator<ModelStreamPart, void, undefined> {
    signal.throwIfAborted();
    const body = toRequestBody(request, modelId);
    const assembler = new StreamAssembler();
    try {
      const events: AsyncIterable<RawMessageStreamEvent> = await start(() =>
        client.messages.create({ ...body, stream: true }, { signal, maxRetries }),
      );
      for await (const event of events) yield* assembler.apply(event);
    } catch (error) {
      rethrow(error, signal, secrets());
    }
    // The SDK ends the iteration quietly when the request is aborted.
    if (signal.aborted) throw abortReason(signal);
    if (!assembler.complete) {
      throw new ModelError('[loopwork:anthropic] the stream ended before message_stop', {
        kind: 'network',
        provider: 'anthropic',
      });
    }
    yield { type: 'finish', response: fromMessage(assembler.message) };
  }

  return {
    specificationVersion: 'loopwork.model.v1',
    // `responseFormat` becomes `output_config.format` (Anthropic's structured outputs).
    supportsResponseFormat: true,
    provider: 'anthropic',
    modelId,
    generate,
    stream,
  };

  /**
   * Runs `create`. The SDK throws synchronously for a request it refuses to send (a non-streaming
   * call whose `max_tokens` could outlast its timeout): no retry fixes that, so it is an invalid
   * request rather than whatever the message would suggest.
   */
  function start<T>(create: () => PromiseLike<T>): PromiseLike<T> {
    try {
      return create();
    } catch (error) {
      const mapped = toModelError(error, secrets());
      throw new ModelError(mapped.message, {
        kind: mapped.kind === 'auth' ? 'auth' : 'invalid_request',
        provider: 'anthropic',
        cause: error,
      });
    }
  }
}

function createClient(options: AnthropicModelOptions): Anthropic {
  const clientOptions: ClientOptions = { maxRetries: options.maxRetries ?? 0 };
  if (options.apiKey !== undefined) clientOptions.apiKey = options.apiKey;
  if (options.baseURL !== undefined) clientOptions.baseURL = options.baseURL;
  if (options.timeout !== undefined) clientOptions.timeout = options.timeout;
  if (options.fetch !== undefined) clientOptions.fetch = options.fetch;
  if (options.defaultHeaders !== undefined) clientOptions.defaultHeaders = options.defaultHeaders;
  return new Anthropic(clientOptions);
}

function validate(options: AnthropicModelOptions): void {
  if (typeof options?.model !== 'string' || options.model.trim() === '') {
    throw new InvalidOptionError(
      `[loopwork:anthropic] model must be a non-empty string, got ${JSON.stringify(options?.model)}`,
    );
  }
  const { maxRetries } = options;
  if (maxRetries !== undefined && !(Number.isInteger(maxRetries) && maxRetries >= 0)) {
    throw new InvalidOptionError(
      `[loopwork:anthropic] maxRetries must be a non-negative integer, got ${maxRetries}`,
    );
  }
}
