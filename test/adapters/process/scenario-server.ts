// The scripted agent's "model": a loopback HTTP server answering GET /turn/<n> with turn(n).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ScriptedTurn } from 'loopwork/testing';

const servers: Server[] = [];

/** Serves `turn(n)` at `<url>/turn/<n>` (after its `delayMs`); returns the base URL. */
export async function serveTurns(turn: (n: number) => ScriptedTurn): Promise<string> {
  const server = createServer(async (request, response) => {
    const n = Number(/\/turn\/(\d+)/.exec(request.url ?? '')?.[1] ?? Number.NaN);
    try {
      const answer = turn(n);
      if (answer.delayMs) await sleep(answer.delayMs);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    } catch (error) {
      response.writeHead(500).end(String(error));
    }
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes every server started. */
export async function closeServers(): Promise<void> {
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
}

/** The scripted agent's path. */
export const SCRIPTED_AGENT = new URL('./fixtures/scripted-agent.mjs', import.meta.url).pathname;
