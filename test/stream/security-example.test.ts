import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { failOnUnhandledRejections } from './helpers';
import { events, server } from './security-example';

// The example in docs/security.md does what the page says it does.
failOnUnhandledRejections();

let base: string;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/runs/run-1/events`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const ann = { authorization: 'Bearer token-of-ann' };

it('answers a bad id 400, a stranger 403, the sixth stream 429, and streams to its owner', async () => {
  const badId = await fetch(base, { headers: { ...ann, 'last-event-id': '-1' } });
  expect([badId.status, await badId.text()]).toEqual([
    400,
    'the Last-Event-ID header "-1" is not an event id: it is negative. A valid id is <milliseconds>-<sequence>, each a decimal integer from 0 to 18446744073709551615 without leading zeros, exactly as sent in an "id:" line of this stream (for example 1718000000000-0).\n',
  ]);
  expect((await fetch(base)).status).toBe(403);
  expect((await fetch(base.replace('run-1', 'run-2'), { headers: ann })).status).toBe(403);

  await events.append('run-1', { type: 'dump', text: 'x'.repeat(300 * 1024) });
  const controllers = Array.from({ length: 5 }, () => new AbortController());
  const streams = await Promise.all(
    controllers.map((c) => fetch(base, { headers: ann, signal: c.signal })),
  );
  expect(streams.map((s) => s.status)).toEqual([200, 200, 200, 200, 200]);
  const sixth = await fetch(base, { headers: ann });
  expect([sixth.status, sixth.headers.get('retry-after')]).toEqual([429, '5']);

  const reader = streams[0]!.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  while (!text.includes('event-too-large')) text += (await reader.read()).value;
  expect(text).toContain('"originalType":"dump"');
  for (const c of controllers) c.abort();
  await reader.cancel().catch(() => {});
});
