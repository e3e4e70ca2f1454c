import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type BudgetLedger,
  type BudgetName,
  BudgetStop,
  type CallTicket,
  createRedactor,
  emptyUsage,
  InvalidOptionError,
  type Redactor,
  type TurnRecord,
  type Usage,
} from 'loopwork';
import { relayUpstream } from 'loopwork/adapter-kit';
import { PROCESS_DEFAULTS } from './defaults';
import {
  estimateResponsesTokens,
  type ResponsesErrorType,
  ResponsesStreamTracker,
  responsesErrorBody,
  responsesStopReason,
  responsesUsageOf,
} from './responses-wire';

/** Where the budget proxy sends the requests it allows: an OpenAI Responses API endpoint. */
export interface ResponsesProxyUpstream {
  /** Base URL of the API, `/v1` included (the proxy appends `/responses`). @defaultValue PROCESS_DEFAULTS.upstreamBaseURL */
  baseURL?: string;
  /** Sent as `Authorization: Bearer …`. @defaultValue process.env.OPENAI_API_KEY */
  apiKey?: string;
  /** Extra headers for every upstream request (`OpenAI-Organization`, `OpenAI-Project` …). */
  headers?: Record<string, string>;
  /** `fetch` used for upstream requests (instrumentation, tests). @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
}

/** What {@link ResponsesBudgetProxyOptions.onTurnStarted} is told before a call is forwarded. */
export interface ResponsesProxyTurnStart {
  /** 1-based turn of this call in the run. */
  turn: number;
  modelId: string;
  maxOutputTokens: number;
  estimatedInputTokens: number;
}

/** The cap a recorded call was sent with (what {@link ResponsesBudgetProxyOptions.onTurn} gets). */
export interface ResponsesProxyCall {
  maxOutputTokens: number;
  /** The budget that set the cap, when one did: a `max_tokens` stop then means the budget cut it. */
  limitedBy?: BudgetName;
}

/** Options of {@link responsesBudgetProxy}. */
export interface ResponsesBudgetProxyOptions {
  /** The run's ledger: every request is clamped by it and its usage recorded in it. */
  ledger: BudgetLedger;
  /** Where allowed requests go. */
  upstream?: ResponsesProxyUpstream;
  /** Prompt tokens of a request before it is sent. @defaultValue a high guess (3 bytes a token) */
  estimateInputTokens?(body: Record<string, unknown>): number;
  /** Called when a call is allowed, before it is forwarded. */
  onTurnStarted?(turn: ResponsesProxyTurnStart): void;
  /** Called with each call's record once its usage is known, and the cap it was sent with. */
  onTurn?(record: TurnRecord, call: ResponsesProxyCall): void;
  /** Called once when a request is refused because no call fits the budgets. */
  onStop?(stop: BudgetStop): void;
  /** More strings to keep out of error messages (the upstream key is always kept out). */
  secrets?: string[];
}

/** A running Responses API budget proxy: point a client at `url + '/v1'` with `token` as its key. */
export interface ResponsesBudgetProxy {
  /** `http://127.0.0.1:<port>`; the API is served under `/v1` (`/v1/responses`). */
  readonly url: string;
  /** The key clients must send (`Authorization: Bearer`); other requests get 401. */
  readonly token: string;
  /** Why the proxy refused a call (no budget left), once it has. */
  readonly stop: BudgetStop | undefined;
  /** A call the ledger could not judge (no price for the model with `maxCostUsd` set …), once one came. */
  readonly failure: Error | undefined;
  /** Refuses every further request and aborts the ones in flight (their worst case stays counted). */
  shutdown(reason?: string): void;
  /** Shuts down and closes the server. */
  close(): Promise<void>;
}

/** Request headers not passed upstream: hop-by-hop ones, the client's key, the body's framing. */
const DROPPED_HEADERS = new Set([
  'host',
  'authorization',
  'x-api-key',
  'api-key',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'accept-encoding',
  'upgrade',
  'proxy-authorization',
]);
const RETURNED_HEADERS = [
  'content-type',
  'x-request-id',
  'retry-after',
  'x-should-retry',
  'openai-processing-ms',
];

/** A prefix for errors, so a client's log says who answered. */
const TAG = '[loopwork]';

/**
 * A loopback HTTP server speaking the OpenAI Responses API, for agents that call the model
 * themselves (Codex: `model_providers.<id>.base_url`): it puts loopwork's budget ledger in front
 * of every call.
 *
 * For each `POST /v1/responses` (streaming or not): the ledger allows it or refuses it; an
 * allowed request goes upstream, its body intact but for `max_output_tokens`, clamped so that even
 * its worst case fits every budget, and its usage (the `usage` of `response.completed`,
 * `response.incomplete` or `response.failed` as the stream passes through, or of the JSON
 * response) is recorded; a refused request is answered with a non-retryable 400
 * `invalid_request_error` (code `budget_exceeded` or `max_turns`), so the client ends, and
 * {@link ResponsesBudgetProxy.stop} says why. A cut or aborted response is recorded at its worst
 * case. The client never sees the upstream key (it authenticates with
 * {@link ResponsesBudgetProxy.token}); upstream errors are relayed with secrets redacted. A
 * request that names a `previous_response_id` or `conversation` is refused: its prompt is stored
 * upstream, so it cannot be estimated before it is sent.
 *
 * @example
 * ```ts
 * const ledger = createBudgetLedger({ maxCostUsd: 0.5 });
 * const proxy = await responsesBudgetProxy({ ledger, upstream: { apiKey: process.env.OPENAI_API_KEY } });
 * // codex exec -c model_provider=lw -c model_providers.lw.base_url=${proxy.url}/v1 -c model_providers.lw.env_key=LW_TOKEN …
 * ```
 */
export async function responsesBudgetProxy(
  options: ResponsesBudgetProxyOptions,
): Promise<ResponsesBudgetProxy> {
  const upstream = options.upstream ?? {};
  const baseURL = checkBaseURL(upstream.baseURL ?? PROCESS_DEFAULTS.upstreamBaseURL);
  const apiKey = upstream.apiKey ?? process.env.OPENAI_API_KEY;
  const token = `lw-proxy-${randomBytes(24).toString('hex')}`;
  const redactor: Redactor = createRedactor({
    secrets: [apiKey, token, ...(options.secrets ?? [])].filter(
      (s): s is string => typeof s === 'string' && s.length > 0,
    ),
  });
  const inFlight = new Set<AbortController>();
  let stop: BudgetStop | undefined;
  let failure: Error | undefined;
  let closedReason: string | undefined;

  const reply = (
    res: ServerResponse,
    status: number,
    type: ResponsesErrorType,
    message: string,
    code: string | null = null,
  ) => {
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(responsesErrorBody(type, redactor.string(message), code));
  };

  const upstreamHeaders = (req: IncomingMessage): Record<string, string> => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (typeof value === 'string' && !DROPPED_HEADERS.has(name)) headers[name] = value;
    Object.assign(headers, upstream.headers);
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    headers['accept-encoding'] = 'identity';
    return headers;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.headers.authorization !== `Bearer ${token}`)
      return reply(
        res,
        401,
        'authentication_error',
        'Incorrect API key provided.',
        'invalid_api_key',
      );
    if (req.method !== 'POST' || path !== '/v1/responses')
      return reply(
        res,
        404,
        'not_found_error',
        `${req.method} ${path} is not served by the loopwork budget proxy`,
      );
    if (closedReason) return reply(res, 400, 'invalid_request_error', closedReason, 'run_ended');
    const encoding = req.headers['content-encoding'];
    if (encoding && encoding !== 'identity')
      return reply(
        res,
        400,
        'invalid_request_error',
        `${TAG} compressed request bodies (${encoding}) are not supported by the budget proxy`,
      );
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return reply(res, 400, 'invalid_request_error', `${TAG} request body is not valid JSON`);
    }
    if (body.previous_response_id != null || body.conversation != null)
      return reply(
        res,
        400,
        'invalid_request_error',
        `${TAG} previous_response_id and conversation are not supported by the budget proxy: send the whole input (its tokens must be estimated before the call)`,
      );
    const modelId = typeof body.model === 'string' ? body.model : '';
    const estimatedInputTokens = (options.estimateInputTokens ?? estimateResponsesTokens)(body);
    let ticket: CallTicket;
    try {
      ticket = options.ledger.allow({
        modelId,
        estimatedInputTokens,
        ...(typeof body.max_output_tokens === 'number'
          ? { requestedMaxTokens: body.max_output_tokens }
          : {}),
      });
    } catch (error) {
      if (BudgetStop.isInstance(error)) {
        if (!stop) {
          stop = error;
          options.onStop?.(error);
        }
        return reply(res, 400, 'invalid_request_error', `${TAG} ${error.message}`, error.status);
      }
      failure ??= error instanceof Error ? error : new Error(String(error));
      return reply(res, 400, 'invalid_request_error', `${TAG} ${failure.message}`);
    }
    body.max_output_tokens = ticket.maxOutputTokens;
    options.onTurnStarted?.({
      turn: options.ledger.turns().length + 1,
      modelId,
      maxOutputTokens: ticket.maxOutputTokens,
      estimatedInputTokens,
    });
    return forward(req, res, JSON.stringify(body), ticket, estimatedInputTokens);
  }

  async function forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: string,
    ticket: CallTicket,
    estimatedInputTokens: number,
  ): Promise<void> {
    const controller = new AbortController();
    inFlight.add(controller);
    res.on('close', () => controller.abort());
    const tracker = new ResponsesStreamTracker();
    let settled = false;
    const settle = (usage: Usage | undefined, stopReason = tracker.stopReason) => {
      if (settled) return;
      settled = true;
      if (!usage) return options.ledger.release(ticket);
      // Recorded whether or not anyone listens (an optional call would skip its arguments).
      const record = options.ledger.record(ticket, usage, stopReason);
      options.onTurn?.(record, {
        maxOutputTokens: ticket.maxOutputTokens,
        ...(ticket.limitedBy ? { limitedBy: ticket.limitedBy } : {}),
      });
    };
    /** What a call cut short may have cost: its worst case, so the budgets stay hard. */
    const worstCase = (): Usage => ({
      ...emptyUsage(),
      inputTokens: estimatedInputTokens,
      outputTokens: ticket.maxOutputTokens,
    });
    try {
      await relayUpstream(res, {
        url: `${baseURL}/responses`,
        headers: upstreamHeaders(req),
        body,
        signal: controller.signal,
        fetch: upstream.fetch,
        returnedHeaders: RETURNED_HEADERS,
        redactor,
        meter: {
          fromJson: (answer) => ({
            usage: answer.usage
              ? responsesUsageOf(answer.usage as Record<string, unknown>)
              : undefined,
            stopReason: responsesStopReason(answer),
          }),
          push: (text) => tracker.push(text),
          streamed: () => tracker.usage,
        },
        settle,
        worstCase,
      });
    } catch (error) {
      // A call that may have reached upstream and did not finish may have been billed in full.
      settle(neverSent(error) ? undefined : worstCase());
      const message = error instanceof Error ? error.message : String(error);
      reply(res, 502, 'server_error', `${TAG} upstream request failed: ${message}`);
    } finally {
      inFlight.delete(controller);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) =>
      reply(res, 500, 'server_error', error instanceof Error ? error.message : String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const shutdown = (reason = `${TAG} the run has ended: no further model call is allowed`) => {
    closedReason ??= reason;
    for (const controller of inFlight) controller.abort();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    get stop() {
      return stop;
    },
    get failure() {
      return failure;
    },
    shutdown,
    async close() {
      shutdown();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The upstream base URL without trailing slashes; throws for one that is not http(s). */
export function checkBaseURL(value: unknown): string {
  if (typeof value !== 'string' || !/^https?:\/\/[^/]/.test(value))
    throw new InvalidOptionError(
      `[loopwork:process] budgetProxy.upstream.baseURL must be an http(s) URL such as 'https://api.openai.com/v1', got ${JSON.stringify(value)}`,
    );
  return value.replace(/\/+$/, '');
}

/** Connection errors that mean the request never reached the upstream (nothing was billed). */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

function neverSent(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' && NOT_SENT.has(cause.code);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
