import { InvalidOptionError, type ModelRequest } from 'loopwork';
import { openai } from 'loopwork/openai';
import { HttpResponse } from 'msw';
import OpenAI from 'openai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mswSafeFetch } from '../../helpers/msw-fetch';
import { chatCompletion } from './chat-wire';
import {
  API_KEY,
  BASE_URL,
  errorResponse,
  makeModel,
  route,
  serveAnswers,
  useServer,
} from './server';
import { errorBody } from './wire';

const server = useServer();
const signal = () => new AbortController().signal;
afterEach(() => vi.unstubAllEnvs());

describe('openai options', () => {
  it('implements the model contract, on Chat Completions by default', async () => {
    const { bodies } = serveAnswers(server, 'chat', { text: ['ok'] });
    const client = new OpenAI({ apiKey: API_KEY, baseURL: BASE_URL, fetch: mswSafeFetch });
    const model = openai({ client, model: 'gpt-6.1-sol' });
    expect([model.specificationVersion, model.provider, model.modelId, model.api]).toEqual([
      'loopwork.model.v1',
      'openai',
      'gpt-6.1-sol',
      'chat',
    ]);
    await model.generate(
      { messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 5 },
      { signal: new AbortController().signal },
    );
    expect(bodies[0].model).toBe('gpt-6.1-sol');
  });

  it('reads the key from OPENAI_API_KEY when none is given', () => {
    vi.stubEnv('OPENAI_API_KEY', 'sk-from-env-0123456789');
    expect(openai({ model: 'gpt-6.1-sol', api: 'responses' }).api).toBe('responses');
  });

  it('names the missing key without repeating anything secret', () => {
    vi.stubEnv('OPENAI_API_KEY', '');
    expect(() => openai({ model: 'gpt-6.1-sol' })).toThrow(
      /\[loopwork:openai\] apiKey: cannot create an OpenAI client \(Missing credentials/,
    );
    expect(() => openai({ model: 'gpt-6.1-sol' })).toThrow(InvalidOptionError);
  });

  it.each([
    [{ model: '' }, /model must be a non-empty string/],
    [
      { model: 'gpt-6.1-sol', api: 'assistants' },
      /api must be 'chat' or 'responses', got "assistants"/,
    ],
    [{ model: 'gpt-6.1-sol', maxRetries: -1 }, /maxRetries must be a non-negative integer, got -1/],
  ])('refuses %o', (options, message) => {
    expect(() => openai({ apiKey: API_KEY, ...(options as { model: string }) })).toThrow(message);
  });
});

describe('openai SDK retries', () => {
  const minimal: ModelRequest = { messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 8 };
  const serverError = () =>
    errorResponse(
      500,
      errorBody(
        'The server had an error while processing your request. Sorry about that!',
        'server_error',
        null,
      ),
      { 'retry-after-ms': '1' },
    );
  const ok = () => HttpResponse.json(chatCompletion({ text: ['ok'] }));

  it('are off by default, even for a given client configured with its own', async () => {
    const { bodies } = route(server, 'chat', [serverError, ok]);
    const client = new OpenAI({
      apiKey: API_KEY,
      baseURL: BASE_URL,
      fetch: mswSafeFetch,
      maxRetries: 5,
    });
    const model = openai({ client, model: 'gpt-4.1' });
    await expect(model.generate(minimal, { signal: signal() })).rejects.toThrow(/500/);
    expect(bodies).toHaveLength(1);
  });

  it('can be turned back on', async () => {
    const { bodies } = route(server, 'chat', [serverError, ok]);
    const response = await makeModel('chat', { maxRetries: 1 }).generate(minimal, {
      signal: signal(),
    });
    expect(response.stopReason).toBe('end_turn');
    expect(bodies).toHaveLength(2);
  });
});
