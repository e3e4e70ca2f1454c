import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopworkError } from '../errors';
import { TRANSITIONS } from '../queue/lifecycle';
import type { RunQuery, RunRecord, RunRecordStatus } from '../store/run-store';
import { createSseHandler } from '../stream/sse';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './assets';
import {
  type ResolvedViewerOptions,
  type RunViewerOptions,
  resolveViewerOptions,
} from './viewer-options';

/** Serves the run viewer: a page, its JSON endpoints and each run's live event stream. */
export interface RunViewer {
  /** Fetch-style: `Request → Response` (Hono, Next.js route handlers, Bun, Deno, …). Never rejects. */
  fetch(request: Request): Promise<Response>;
  /** `node:http` style `(req, res)`; resolves when the response has ended, never rejects. */
  node(request: IncomingMessage, response: ServerResponse): Promise<void>;
}

/**
 * Only the viewer's own files may load; no inline script or style, no frames, no forms. The page
 * talks to its own origin only (the JSON endpoints and the event stream).
 */
export const VIEWER_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const ASSETS: Record<string, { type: string; body: string }> = {
  '': { type: 'text/html; charset=utf-8', body: PAGE_HTML },
  'viewer.js': { type: 'text/javascript; charset=utf-8', body: PAGE_JS },
  'viewer.css': { type: 'text/css; charset=utf-8', body: PAGE_CSS },
};

// Every status a run record can have: the lifecycle's transition table has one entry each.
const STATUSES = new Set(Object.keys(TRANSITIONS) as RunRecordStatus[]);

/** What the listing sends of each run: enough for a table, not its payload or output. */
function summary(run: RunRecord) {
  const { payload: _payload, output: _output, outputRef: _ref, ...rest } = run;
  return rest;
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const text = (status: number, body: string): Reply => ({
  status,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body: `${body}\n`,
});
const json = (value: unknown): Reply => ({
  status: 200,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: JSON.stringify(value),
});

/**
 * Creates the run viewer: a small page that lists runs, shows a run's transcript (the model's
 * text, tool calls with input and output, usage and cost per turn) and follows it live over SSE.
 * Mount it at `basePath` (default `/`):
 *
 * | path | serves |
 * | --- | --- |
 * | `{basePath}` | the page (`viewer.js`, `viewer.css` beside it) |
 * | `{basePath}api/runs?status=&limit=&cursor=` | a page of runs, newest first (no payloads or outputs) |
 * | `{basePath}api/runs/{runId}` | the run's record |
 * | `{basePath}api/runs/{runId}/events` | its events as SSE (`createSseHandler`: catch-up, live, Last-Event-ID) |
 *
 * `authorize` is asked for every request, with `runId` for a run's record and events; a browser
 * sends cookies with each of them, so a session cookie is the natural credential. Every response
 * carries a Content-Security-Policy that admits only the viewer's own script and style, and the
 * page renders run data as text only.
 *
 * @example
 * ```ts
 * const viewer = createRunViewer({ runs, events, basePath: '/runs/', authorize: ({ headers }) => isAdmin(headers.get('cookie')) });
 * http.createServer((req, res) => viewer.node(req, res)).listen(3000);
 * ```
 */
export function createRunViewer(options: RunViewerOptions): RunViewer {
  const resolved = resolveViewerOptions(options);
  const sse = createSseHandler({
    events: resolved.events,
    authorize: (request) => resolved.authorize(request),
    runIdFrom: (url) => runIdOf(resolved, url),
    onError: resolved.onError,
  });

  return {
    async fetch(request) {
      let answer: Reply | 'sse';
      try {
        answer = await handle(resolved, request.method, new URL(request.url), request.headers);
      } catch (error) {
        report(resolved, error);
        answer = text(500, 'internal error');
      }
      if (answer === 'sse') return withCsp(await sse.fetch(request));
      return new Response(answer.status === 308 ? null : answer.body, {
        status: answer.status,
        headers: { ...answer.headers, ...SECURITY_HEADERS, 'content-security-policy': VIEWER_CSP },
      });
    },
    async node(request, response) {
      try {
        let url: URL;
        try {
          url = new URL(request.url ?? '/', `http://${request.headers.host ?? 'localhost'}`);
        } catch {
          return send(response, text(400, 'the request target or Host header is not a valid URL.'));
        }
        const headers = new Headers();
        for (const [name, value] of Object.entries(request.headers)) {
          if (value === undefined) continue;
          try {
            headers.set(name, Array.isArray(value) ? value.join(', ') : value);
          } catch {
            // A value fetch's Headers refuses cannot be what authorize looks for.
          }
        }
        const answer = await handle(resolved, request.method ?? 'GET', url, headers);
        if (answer === 'sse') {
          response.setHeader('content-security-policy', VIEWER_CSP);
          return await sse.node(request, response);
        }
        send(response, answer);
      } catch (error) {
        report(resolved, error);
        if (!response.headersSent) send(response, text(500, 'internal error'));
        else response.destroy();
      }
    },
  };
}

function send(response: ServerResponse, reply: Reply): void {
  response
    .writeHead(reply.status, {
      ...reply.headers,
      ...SECURITY_HEADERS,
      'content-security-policy': VIEWER_CSP,
      'content-length': String(Buffer.byteLength(reply.body)),
    })
    .end(reply.body);
}

function withCsp(response: Response): Response {
  const headers = new Headers(response.headers);
  headers.set('content-security-policy', VIEWER_CSP);
  return new Response(response.body, { status: response.status, headers });
}

function report(options: ResolvedViewerOptions, error: unknown): void {
  try {
    options.onError(error);
  } catch {
    // A broken logger is not a reason to fail the request.
  }
}

/** The path below `basePath`, or undefined when the request is outside the viewer. */
function localPath(options: ResolvedViewerOptions, url: URL): string | undefined {
  const base = options.basePath;
  if (url.pathname === base.slice(0, -1) && base !== '/') return undefined;
  return url.pathname.startsWith(base) ? url.pathname.slice(base.length) : undefined;
}

/** The run id of `api/runs/{id}` or `api/runs/{id}/events`. */
function runIdOf(options: ResolvedViewerOptions, url: URL): string | undefined {
  const path = localPath(options, url);
  const match = path === undefined ? null : /^api\/runs\/([^/]+)(?:\/events)?$/.exec(path);
  if (!match) return undefined;
  return decodeURIComponent(match[1] as string);
}

async function handle(
  options: ResolvedViewerOptions,
  method: string,
  url: URL,
  headers: Headers,
): Promise<Reply | 'sse'> {
  const path = localPath(options, url);
  if (path === undefined) {
    const base = options.basePath;
    if (url.pathname === base.slice(0, -1)) {
      // The page's relative links need the trailing slash.
      return { status: 308, headers: { location: base }, body: '' };
    }
    return text(404, `not found: the viewer is served under ${base}`);
  }
  if (path.endsWith('/events') && path.startsWith('api/runs/')) return 'sse';
  if (method !== 'GET' && method !== 'HEAD') {
    return {
      ...text(405, `${method.slice(0, 16)} is not supported: the viewer only reads.`),
      headers: { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' },
    };
  }
  const asset = ASSETS[path];
  const runMatch = /^api\/runs\/([^/]+)$/.exec(path);
  if (!asset && path !== 'api/runs' && !runMatch) return text(404, 'not found');
  let runId: string | undefined;
  if (runMatch) {
    try {
      runId = decodeURIComponent(runMatch[1] as string);
    } catch {
      return text(400, 'the run id in the URL is not valid percent-encoding.');
    }
  }
  try {
    if ((await options.authorize({ runId, headers, url })) !== true) {
      return text(403, 'forbidden: this request may not read the viewer or this run.');
    }
  } catch (error) {
    report(options, error);
    return text(500, 'the server could not decide whether this request may read this.');
  }
  if (asset) return { status: 200, headers: { 'content-type': asset.type }, body: asset.body };
  try {
    if (runId !== undefined) {
      const record = await options.runs.get(runId);
      return record ? json(record) : text(404, 'no such run.');
    }
    const query = listQuery(url);
    if (typeof query === 'string') return text(400, query);
    const page = await options.runs.list(query);
    return json({ runs: page.runs.map(summary), ...(page.cursor ? { cursor: page.cursor } : {}) });
  } catch (error) {
    if (LoopworkError.isInstance(error) && error.code === 'invalid_option') {
      return text(400, error.message);
    }
    report(options, error);
    return text(500, 'the run store could not be read; try again later.');
  }
}

/** The listing's query from the URL, or what is wrong with it. */
function listQuery(url: URL): RunQuery | string {
  const params = url.searchParams;
  const query: RunQuery = {};
  const status = params.get('status') || undefined;
  if (status !== undefined) {
    if (!STATUSES.has(status as RunRecordStatus)) {
      return `status must be one of ${[...STATUSES].join(', ')}.`;
    }
    query.status = status as RunRecordStatus;
  }
  const limit = params.get('limit');
  if (limit !== null) {
    if (!/^\d{1,4}$/.test(limit)) return 'limit must be an integer from 1 to 1000.';
    query.limit = Number(limit);
  }
  const cursor = params.get('cursor');
  if (cursor) query.cursor = cursor;
  const taskType = params.get('taskType');
  if (taskType) query.taskType = taskType;
  return query;
}
