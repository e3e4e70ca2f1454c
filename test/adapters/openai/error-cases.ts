import type { ModelErrorKind } from 'loopwork';
import { HttpResponse } from 'msw';
import { errorResponse, type Reply } from './server';
import { errorBody } from './wire';

/** An OpenAI error response with the usual `{"error": {…}}` body. */
const fails =
  (status: number, message: string, type: string, code: string | null, param?: string): Reply =>
  () =>
    errorResponse(status, errorBody(message, type, code, param ?? null));

const INVALID = 'invalid_request_error';

/**
 * HTTP failures, their bodies as OpenAI sends them (messages copied from real responses quoted in
 * public issues), and what the adapter must make of them: kind, retryable, status.
 */
export const HTTP_ERROR_CASES: Array<[string, Reply, ModelErrorKind, boolean, number | undefined]> =
  [
    [
      '400 invalid request',
      fails(400, 'Unrecognized request argument supplied: foo', INVALID, null),
      'invalid_request',
      false,
      400,
    ],
    [
      '401 bad key',
      fails(401, 'Incorrect API key provided: sk-test-****cdef.', INVALID, 'invalid_api_key'),
      'auth',
      false,
      401,
    ],
    [
      '403 no access',
      fails(
        403,
        'Project `proj_abc` does not have access to model `gpt-4.1`',
        INVALID,
        'model_not_found',
      ),
      'auth',
      false,
      403,
    ],
    [
      '404 unknown model',
      fails(
        404,
        'The model `gpt-4.1` does not exist or you do not have access to it.',
        INVALID,
        'model_not_found',
      ),
      'not_found',
      false,
      404,
    ],
    [
      '413 body too large',
      fails(413, 'Request too large.', INVALID, null),
      'context_length',
      false,
      413,
    ],
    [
      '400 context_length_exceeded',
      fails(
        400,
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens. Please reduce the length of the messages.",
        INVALID,
        'context_length_exceeded',
        'messages',
      ),
      'context_length',
      false,
      400,
    ],
    [
      // OpenAI-compatible servers (DeepSeek, vLLM) say it only in words.
      '400 context length in words only',
      fails(
        400,
        "This model's maximum context length is 131072 tokens. However, you requested 131134 tokens.",
        INVALID,
        INVALID,
      ),
      'context_length',
      false,
      400,
    ],
    [
      '400 flagged prompt',
      fails(
        400,
        'Invalid prompt: your prompt was flagged as potentially violating our usage policy.',
        INVALID,
        'invalid_prompt',
      ),
      'content_filter',
      false,
      400,
    ],
    [
      '429 rate limit',
      fails(429, 'Rate limit reached for requests', 'requests', 'rate_limit_exceeded'),
      'rate_limit',
      true,
      429,
    ],
    [
      '429 insufficient_quota (waiting does not refill it)',
      fails(
        429,
        'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
        'insufficient_quota',
        'insufficient_quota',
      ),
      'rate_limit',
      false,
      429,
    ],
    [
      '429 request larger than the limit',
      fails(
        429,
        'Request too large for gpt-4o in organization org-123 on tokens per min (TPM): Limit 30000, Requested 31538. The input or output tokens must be reduced in order to run successfully.',
        'tokens',
        'rate_limit_exceeded',
      ),
      'rate_limit',
      false,
      429,
    ],
    [
      '500 server error',
      () =>
        errorResponse(500, {
          error: {
            message: 'The server had an error while processing your request. Sorry about that!',
            type: 'server_error',
          },
        }),
      'server',
      true,
      500,
    ],
    [
      '502 gateway HTML',
      () =>
        errorResponse(
          502,
          '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>',
        ),
      'server',
      true,
      502,
    ],
    [
      '503 overloaded',
      fails(
        503,
        'The engine is currently overloaded, please try again later.',
        'server_error',
        null,
      ),
      'overloaded',
      true,
      503,
    ],
    ['network reset', () => HttpResponse.error(), 'network', true, undefined],
  ];
