import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type BudgetLedger,
  BudgetStop,
  type CallTicket,
  createRedactor,
  InvalidOptionError,
  type Redactor,
  type TurnRecord,
  type Usage,
} from 'loopwork';
import { relayUpstream } from 'loopwork/adapter-kit';
import {
  type AnthropicErrorType,
  clampBody,
  errorBody,
  estimateRequestTokens,
  SseUsageTracker,
  stopReasonOf,
  usageOf,
} from './anthropic-wire';
import { CLAUDE_AGENT_SDK_DEFAULTS } from './defaults';

/** Where the budget proxy sends the requests it allows: an Anthropic Messages API endpoint. */
export interface BudgetProxyUpstream {
  /** Base URL of the Messages API (the proxy appends `/v1/messages`). @defaultValue CLAUDE_AGENT_SDK_DEFAULTS.upstreamBaseURL */
  baseURL?: string;
  /** Sent as `x-api-key`. @defaultValue process.env.ANTHROPIC_API_KEY */
  apiKey?: string;
  /** Sent as `Authorization: Bearer …` instead of an API key (a gateway token). */
  authToken?: string;
  /** Extra headers for every upstream request. */
  headers?: Record<string, string>;
  /** `fetch` used for upstream requests (instrumentation, tests). @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
}

/** What {@link BudgetProxyOptions.onTurnStarted} is told before a call is forwarded. */
export interface ProxyTurnStart {
  /** 1-based turn of this call in the run. */
  turn: number;
  modelId: string;
  maxOutputTokens: number;
  estimatedInputTokens: number;
}

/** Options of {@link budgetProxy}. */
export interface BudgetProxyOptions {
  /** The run's ledger: every request is clamped by it and its usage recorded in it. */
  ledger: BudgetLedger;
  /** Where allowed requests go. */
  upstream?: BudgetProxyUpstream;
  /** Prompt tokens of a request before it is sent. @defaultValue a high guess (3 bytes a token) */
  estimateInputTokens?(body: Record<string, unknown>): number;
  /** Called when a call is allowed, before it is forwarded. */
  onTurnStarted?(turn: ProxyTurnStart): void;
  /** Called with each call's record once its usage is known. */
  onTurn?(record: TurnRecord): void;
  /** Called once when a request is refused because no call fits the budgets. */
  onStop?(stop: BudgetStop): void;
  /** More strings to keep out of error messages (the upstream key is always kept out). */
  secrets?: string[];
}

/** A running budget proxy: point a client at `url` with `token` as its API key. */
export interface BudgetProxy {
  /** `http://127.0.0.1:<port>`: use as `ANTHROPIC_BASE_URL`. */
  readonly url: string;
  /** The key clients must send (`x-api-key` or `Authorization: Bearer`); other requests get 401. */
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

const FORWARDED_HEADERS = [
  'anthropic-version',
  'anthropic-beta',
  'content-type',
  'accept',
  'user-agent',
];
const RETURNED_HEADERS = ['content-type', 'request-id', 'retry-after', 'x-should-retry'];

/**
 * A loopback HTTP server speaking the Anthropic Messages API, for runtimes that call the model
 * themselves (Claude Agent SDK, `claude -p`): the runtime is pointed at it by base URL
 * (`ANTHROPIC_BASE_URL`), and it puts loopwork's budget ledger in front of every call.
 *
 * For each `POST /v1/messages` (streaming or not): the ledger allows it or refuses it; an allowed
 * request goes upstream with `max_tokens` clamped so that even its worst case fits every budget,
 * and its usage (read from the response as it streams through) is recorded; a refused request is
 * answered with a non-retryable `invalid_request_error`, so the client ends, and {@link
 * BudgetProxy.stop} says why. A cut or aborted response is recorded at its worst case. The client
 * never sees the upstream key (it authenticates with {@link BudgetProxy.token}); error messages
 * are redacted. `POST /v1/messages/count_tokens` is forwarded as is (it costs nothing).
 *
 * @example
 * ```ts
 * const ledger = createBudgetLedger({ maxCostUsd: 0.5 });
 * const proxy = await budgetProxy({ ledger, upstream: { apiKey: process.env.ANTHROPIC_API_KEY } });
 * spawn('claude', ['-p', 'hi'], { env: { ...process.env, ANTHROPIC_BASE_URL: proxy.url, ANTHROPIC_API_KEY: proxy.token } });
 * ```
 */
export async function budgetProxy(options: BudgetProxyOptions): Promise<BudgetProxy> {
  const upstream = options.upstream ?? {};
  const baseURL = (upstream.baseURL ?? CLAUDE_AGENT_SDK_DEFAULTS.upstreamBaseURL).replace(
    /\/+$/,
    '',
  );
  if (!/^https?:\/\//.test(baseURL)) {
    throw new InvalidOptionError(
      `[loopwork:claude-agent-sdk] upstream.baseURL must be an http(s) URL, got ${JSON.stringify(baseURL)}`,
    );
  }
  const apiKey =
    upstream.apiKey ?? (upstream.authToken ? undefined : process.env.ANTHROPIC_API_KEY);
  const token = `lw-proxy-${randomBytes(24).toString('hex')}`;
  const redactor: Redactor = createRedactor({
    secrets: [apiKey, upstream.authToken, token, ...(options.secrets ?? [])].filter(
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
    type: AnthropicErrorType,
    message: string,
  ) => {
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(errorBody(type, redactor.string(message)));
  };

  const authorized = (req: IncomingMessage) =>
    req.headers['x-api-key'] === token || req.headers.authorization === `Bearer ${token}`;

  const upstreamHeaders = (req: IncomingMessage): Record<string, string> => {
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    Object.assign(headers, upstream.headers);
    if (apiKey) headers['x-api-key'] = apiKey;
    if (upstream.authToken) headers.authorization = `Bearer ${upstream.authToken}`;
    headers['accept-encoding'] = 'identity';
    return headers;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (!authorized(req)) return reply(res, 401, 'authentication_error', 'invalid x-api-key');
    if (req.method !== 'POST' || (path !== '/v1/messages' && path !== '/v1/messages/count_tokens'))
      return reply(
        res,
        404,
        'not_found_error',
        `${req.method} ${path} is not served by the loopwork budget proxy`,
      );
    if (closedReason) return reply(res, 400, 'invalid_request_error', closedReason);
    const raw = await readBody(req);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw);
    } catch {
      return reply(res, 400, 'invalid_request_error', 'request body is not valid JSON');
    }
    if (path === '/v1/messages/count_tokens') return forward(req, res, raw, undefined);
    const modelId = typeof body.model === 'string' ? body.model : '';
    const estimatedInputTokens = (options.estimateInputTokens ?? estimateRequestTokens)(body);
    let ticket: CallTicket;
    try {
      ticket = options.ledger.allow({
        modelId,
        estimatedInputTokens,
        ...(typeof body.max_tokens === 'number' ? { requestedMaxTokens: body.max_tokens } : {}),
      });
    } catch (error) {
      if (BudgetStop.isInstance(error)) {
        if (!stop) {
          stop = error;
          options.onStop?.(error);
        }
        return reply(res, 400, 'invalid_request_error', `[loopwork] ${error.message}`);
      }
      failure ??= error instanceof Error ? error : new Error(String(error));
      return reply(res, 400, 'invalid_request_error', `[loopwork] ${failure.message}`);
    }
    clampBody(body, ticket.maxOutputTokens);
    options.onTurnStarted?.({
      turn: options.ledger.turns().length + 1,
      modelId,
      maxOutputTokens: ticket.maxOutputTokens,
      estimatedInputTokens,
    });
    return forward(req, res, JSON.stringify(body), { ticket, estimatedInputTokens });
  }

  async function forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: string,
    call: { ticket: CallTicket; estimatedInputTokens: number } | undefined,
  ): Promise<void> {
    const controller = new AbortController();
    inFlight.add(controller);
    res.on('close', () => controller.abort());
    const tracker = new SseUsageTracker();
    let settled = false;
    const settle = (usage: Usage | undefined, stopReason = tracker.stopReason) => {
      if (settled || !call) return;
      settled = true;
      if (!usage) return options.ledger.release(call.ticket);
      // Recorded whether or not anyone listens (an optional call would skip its arguments).
      const record = options.ledger.record(call.ticket, usage, stopReason);
      options.onTurn?.(record);
    };
    /** What a call cut short may have cost: its worst case, so the budgets stay hard. */
    const worstCase = (): Usage => ({
      ...tracker.usage,
      inputTokens: Math.max(
        tracker.usage.inputTokens,
        tracker.started ? 0 : (call?.estimatedInputTokens ?? 0),
      ),
      outputTokens: call?.ticket.maxOutputTokens ?? 0,
    });
    try {
      const path = (req.url ?? '/v1/messages').replace(/^\/+/, '/');
      await relayUpstream(res, {
        url: `${baseURL}${path}`,
        headers: upstreamHeaders(req),
        body,
        signal: controller.signal,
        fetch: upstream.fetch,
        returnedHeaders: RETURNED_HEADERS,
        redactor,
        meter: {
          fromJson: (message) => ({
            usage: message.usage ? usageOf(message.usage as Record<string, unknown>) : undefined,
            stopReason: stopReasonOf(message.stop_reason),
          }),
          push: (text) => tracker.push(text),
          streamed: () => (tracker.complete ? tracker.usage : undefined),
        },
        settle,
        worstCase,
      });
    } catch (error) {
      // A started call that did not finish may have been billed in full.
      settle(tracker.started || controller.signal.aborted ? worstCase() : undefined);
      const message = error instanceof Error ? error.message : String(error);
      reply(res, 502, 'api_error', `[loopwork] upstream request failed: ${message}`);
    } finally {
      inFlight.delete(controller);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) =>
      reply(res, 500, 'api_error', error instanceof Error ? error.message : String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const shutdown = (reason = '[loopwork] the run has ended: no further model call is allowed') => {
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

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
