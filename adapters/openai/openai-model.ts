import {
  InvalidOptionError,
  type Model,
  type ModelCallOptions,
  type ModelRequest,
  type ModelStreamPart,
} from 'loopwork';
import OpenAI, { type ClientOptions } from 'openai';
import { generateChat, streamChat } from './chat-api';
import { PREFIX, PROVIDER } from './errors';
import { generateResponses, streamResponses } from './responses-api';
import type { ApiContext } from './sdk-call';

/** Which OpenAI API the adapter calls. */
export type OpenAIApi = 'chat' | 'responses';

/** Options of {@link openai}. */
export interface OpenAIModelOptions {
  /** Model id sent to OpenAI and looked up in the price table, for example `gpt-6.1-sol`. */
  model: string;
  /**
   * `chat` (Chat Completions, `/v1/chat/completions`) or `responses` (the Responses API,
   * `/v1/responses`). Chat Completions is the default because OpenAI-compatible servers speak it
   * and it has stop sequences; the Responses API has none.
   * @defaultValue `'chat'`
   */
  api?: OpenAIApi;
  /** A configured client; when given, `apiKey`, `baseURL`, `organization`, `project`, `timeout` and `fetch` are not used. */
  client?: OpenAI;
  /** API key for a client created here. @defaultValue `process.env.OPENAI_API_KEY` */
  apiKey?: string;
  /** Base URL for a client created here, for a proxy or an OpenAI-compatible server. */
  baseURL?: string;
  /** OpenAI organization id for a client created here. */
  organization?: string;
  /** OpenAI project id for a client created here. */
  project?: string;
  /** Request timeout in milliseconds for a client created here (the SDK's default otherwise). */
  timeout?: number;
  /** `fetch` implementation for a client created here. */
  fetch?: ClientOptions['fetch'];
  /**
   * Retries the SDK itself makes per call, applied to a given `client` too. Off by default so the
   * loop's retry policy governs retries, with `model-retry` events and its delay cap.
   * @defaultValue `0`
   */
  maxRetries?: number;
}

/** The model object {@link openai} returns. */
export interface OpenAIModel extends Model {
  /** The API this model calls. */
  readonly api: OpenAIApi;
  /** Streams one call (always available here, unlike on the {@link Model} contract). */
  stream(request: ModelRequest, options: ModelCallOptions): AsyncIterable<ModelStreamPart>;
}

function createClient(options: OpenAIModelOptions): OpenAI {
  const { apiKey, baseURL, organization, project, timeout, fetch } = options;
  try {
    return new OpenAI({
      ...(apiKey === undefined ? {} : { apiKey }),
      ...(baseURL === undefined ? {} : { baseURL }),
      ...(organization === undefined ? {} : { organization }),
      ...(project === undefined ? {} : { project }),
      ...(timeout === undefined ? {} : { timeout }),
      ...(fetch === undefined ? {} : { fetch }),
      maxRetries: options.maxRetries ?? 0,
    });
  } catch (cause) {
    throw new InvalidOptionError(
      `${PREFIX} apiKey: cannot create an OpenAI client (${(cause as Error).message}); pass apiKey or client, or set OPENAI_API_KEY`,
    );
  }
}

function validate(options: OpenAIModelOptions): void {
  if (typeof options.model !== 'string' || options.model === '') {
    throw new InvalidOptionError(
      `${PREFIX} model must be a non-empty string, got ${JSON.stringify(options.model)}`,
    );
  }
  if (options.api !== undefined && options.api !== 'chat' && options.api !== 'responses') {
    throw new InvalidOptionError(
      `${PREFIX} api must be 'chat' or 'responses', got ${JSON.stringify(options.api)}`,
    );
  }
  const { maxRetries } = options;
  if (maxRetries !== undefined && !(Number.isInteger(maxRetries) && maxRetries >= 0)) {
    throw new InvalidOptionError(
      `${PREFIX} maxRetries must be a non-negative integer, got ${maxRetries}`,
    );
  }
}

/**
 * A loopwork {@link Model} over the official `openai` SDK, calling either Chat Completions or the
 * Responses API. Give it a configured client or the options to create one.
 *
 * - Errors become `ModelError`s: status via the core's table, `context_length_exceeded` as
 *   `context_length`, `retry-after-ms` / `retry-after` / `x-ratelimit-reset-*` as `retryAfterMs`,
 *   and `insufficient_quota` as a `rate_limit` that is not retryable (waiting does not refill it).
 * - Tool-call arguments that are not a JSON object stay the raw string, which fails the tool's
 *   input validation as an `invalid_input` error the model can correct.
 * - `request.providerOptions.openai` is merged into the request body (`reasoning_effort`,
 *   `reasoning`, `service_tier`, `store` …) without overriding the fields the loop sets.
 *
 * @example
 * ```ts
 * import { runAgent } from 'loopwork';
 * import { openai } from 'loopwork/openai';
 *
 * const model = openai({ model: 'gpt-6.1-sol', api: 'responses' }); // key from OPENAI_API_KEY
 * const result = await runAgent({ model, prompt: 'Say hello.', maxCostUsd: 0.05 });
 * console.log(result.text, result.usage, result.costUsd);
 * ```
 */
export function openai(options: OpenAIModelOptions): OpenAIModel {
  validate(options);
  const api = options.api ?? 'chat';
  const context: ApiContext = {
    client: options.client ?? createClient(options),
    modelId: options.model,
    maxRetries: options.maxRetries ?? 0,
  };
  const [generate, stream] =
    api === 'chat' ? [generateChat, streamChat] : [generateResponses, streamResponses];
  return {
    specificationVersion: 'loopwork.model.v1',
    provider: PROVIDER,
    modelId: options.model,
    api,
    // `responseFormat` becomes Chat's `response_format` / the Responses API's `text.format`.
    supportsResponseFormat: true,
    generate: (request, { signal }) => generate(context, request, signal),
    stream: (request, { signal }) => stream(context, request, signal),
  };
}
