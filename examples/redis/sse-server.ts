/**
 * Redis example, part 3 of 3: serves each run's event log as Server-Sent Events, read from its
 * Redis stream: history first, then live events, until the run's `task-finished`. A client that
 * reconnects with `Last-Event-ID` gets exactly the events it missed.
 *
 * Run: `LOOPWORK_PREFIX=my-try npx tsx examples/redis/sse-server.ts`, then
 * `curl -N -H 'authorization: Bearer example-token' http://127.0.0.1:3000/runs/<runId>/events`
 */
import { createServer } from 'node:http';
import { createSseHandler } from 'loopwork';
import { connect, prefix } from './app';

const token = process.env.SSE_TOKEN ?? 'example-token';
const port = Number(process.env.PORT ?? 3000);

const { client, events } = connect();
const sse = createSseHandler({
  events,
  // Required: decide who may read which run. Here one shared token; check per run in your app.
  authorize: ({ headers }) => headers.get('authorization') === `Bearer ${token}`,
});
const server = createServer((request, response) => {
  if (!/^\/runs\/[^/]+\/events(\?|$)/.test(request.url ?? '')) {
    response.writeHead(404).end('try /runs/<runId>/events\n');
    return;
  }
  sse.node(request, response).catch((error) => {
    console.error(error);
    response.destroy();
  });
});
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${port}/runs/<runId>/events (prefix ${prefix})`);
});

const stop = () => {
  server.close();
  server.closeAllConnections(); // open event streams end here; clients reconnect elsewhere
  void client.quit();
};
process.once('SIGTERM', stop).once('SIGINT', stop);
