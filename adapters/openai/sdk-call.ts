import type { ModelRequest } from 'loopwork';
import type OpenAI from 'openai';
import { PROVIDER, toModelError, toStreamError } from './errors';

/** What both API mappings need: the client, the model id and the SDK's per-request retries. */
export interface ApiContext {
  client: OpenAI;
  modelId: string;
  maxRetries: number;
}

/** `request.providerOptions.openai`, when it is an object; merged into the request body. */
export function providerOptionsOf(request: ModelRequest): Record<string, unknown> {
  const value = request.providerOptions?.[PROVIDER];
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/**
 * The `tools` field: tools given in provider options first (OpenAI's built-in tools, say), then
 * the request's function tools; absent when there are none.
 */
export function toolsField<T>(request: ModelRequest, functions: T[]): { tools?: T[] } {
  const given = providerOptionsOf(request).tools;
  const tools = [...(Array.isArray(given) ? (given as T[]) : []), ...functions];
  return tools.length > 0 ? { tools } : {};
}

/** Runs one SDK request with the call's signal and retries, mapping its failure for the loop. */
export async function send<T>(
  context: ApiContext,
  signal: AbortSignal,
  request: (options: OpenAI.RequestOptions) => PromiseLike<T>,
): Promise<T> {
  signal.throwIfAborted();
  try {
    return await request({ signal, maxRetries: context.maxRetries });
  } catch (error) {
    throw toModelError(error, signal, context.client.apiKey);
  }
}

/**
 * The SDK's stream of events, with read failures mapped for the loop. Only failures of the SDK
 * iteration land here: an error in the consumer's loop body closes this generator instead.
 *
 * The SDK ends a stream silently when its request is aborted, so the caller must check its signal
 * after the loop.
 */
export async function* readStream<T>(
  context: ApiContext,
  signal: AbortSignal,
  events: AsyncIterable<T>,
): AsyncGenerator<T> {
  try {
    for await (const event of events) yield event;
  } catch (error) {
    throw toStreamError(error, signal, context.client.apiKey);
  }
}
