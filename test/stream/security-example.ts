/**
 * The SSE endpoint of docs/security.md: every limit set explicitly, failures logged.
 * (test/stream/security-example.test.ts runs it, so the page cannot drift from the code.)
 */
import { createServer } from 'node:http';
import { createMemoryEventLog, createSseHandler } from 'loopwork';

// In your app: your session or token store. Here one token may read one run.
const tokens = new Map([['token-of-ann', 'run-1']]);

// An event whose JSON is over 256 KiB is stored as an `event-too-large` placeholder.
export const events = createMemoryEventLog({ maxEventBytes: 256 * 1024 });

const sse = createSseHandler({
  events,
  // Required. Anything but `true` is 403; a throw or a rejection is 500 and goes to onError.
  authorize: async ({ runId, headers }) => {
    const token = headers.get('authorization')?.replace(/^Bearer /, '') ?? '';
    return tokens.get(token) === runId;
  },
  maxClientsPerRun: 5, // the sixth stream of one run at a time gets 429 and Retry-After
  maxBufferedBytes: 1024 * 1024, // at most 1 MiB waits unsent for any one client
  onError: (error) => console.error('[sse]', error),
});

// Ignoring the promise is safe: sse.node answers every request and never rejects.
export const server = createServer((req, res) => sse.node(req, res));
