import {
  createMemoryEventLog,
  createMemoryRunStore,
  createRunViewer,
  type RunRecord,
  type ViewerRequest,
} from 'loopwork';
import { describe, expect, it } from 'vitest';

const record = (runId: string, queuedAt: number): RunRecord => ({
  runId,
  taskType: 'research',
  status: 'queued',
  payload: { secretish: 'payload' },
  attempt: 0,
  maxAttempts: 3,
  version: 1,
  queuedAt,
  updatedAt: queuedAt,
});

async function setup(
  authorize: (request: ViewerRequest) => boolean | Promise<boolean> = () => true,
) {
  const runs = createMemoryRunStore();
  const events = createMemoryEventLog();
  await runs.create(record('a', 1));
  await runs.create(record('b/c', 2));
  const errors: unknown[] = [];
  const viewer = createRunViewer({
    runs,
    events,
    authorize,
    basePath: '/ops/runs',
    onError: (error) => errors.push(error),
  });
  const get = (path: string, init?: RequestInit) =>
    viewer.fetch(new Request(`http://localhost${path}`, init));
  return { runs, events, viewer, get, errors };
}

describe('createRunViewer (fetch form)', () => {
  it('serves the page, script and style with a strict CSP', async () => {
    const { get } = await setup();
    for (const [path, type] of [
      ['/ops/runs/', 'text/html'],
      ['/ops/runs/viewer.js', 'text/javascript'],
      ['/ops/runs/viewer.css', 'text/css'],
    ] as const) {
      const response = await get(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toContain(type);
      expect(response.headers.get('content-security-policy')).toMatch(
        /default-src 'none'; script-src 'self'/,
      );
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const redirect = await get('/ops/runs');
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/ops/runs/');
    expect((await get('/elsewhere')).status).toBe(404);
    expect((await get('/ops/runs/nope')).status).toBe(404);
  });

  it('lists runs without payloads, newest first, and returns one run by its encoded id', async () => {
    const { get } = await setup();
    const page = (await (await get('/ops/runs/api/runs')).json()) as { runs: RunRecord[] };
    expect(page.runs.map((run) => run.runId)).toEqual(['b/c', 'a']);
    expect(page.runs[0]).not.toHaveProperty('payload');
    const one = await get(`/ops/runs/api/runs/${encodeURIComponent('b/c')}`);
    expect(((await one.json()) as RunRecord).payload).toEqual({ secretish: 'payload' });
    expect((await get('/ops/runs/api/runs/missing')).status).toBe(404);
  });

  it('answers bad queries 400 and writes 405, saying what is wrong', async () => {
    const { get } = await setup();
    const bad = await get('/ops/runs/api/runs?status=done');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('status must be one of queued');
    expect((await get('/ops/runs/api/runs?limit=5000')).status).toBe(400);
    expect((await get('/ops/runs/api/runs?cursor=garbage')).status).toBe(400);
    expect((await get('/ops/runs/api/runs/%E0%A4%A')).status).toBe(400);
    expect((await get('/ops/runs/api/runs/a', { method: 'DELETE' })).status).toBe(405);
  });

  it('asks authorize for every request, with the run id of a run, and refuses or fails safely', async () => {
    const asked: Array<string | undefined> = [];
    const { get } = await setup(({ runId, headers }) => {
      asked.push(runId);
      return headers.get('cookie') === 'session=ok';
    });
    const cookie = { headers: { cookie: 'session=ok' } };
    expect((await get('/ops/runs/', cookie)).status).toBe(200);
    expect((await get('/ops/runs/api/runs/a', cookie)).status).toBe(200);
    expect((await get('/ops/runs/api/runs/a')).status).toBe(403);
    expect((await get('/ops/runs/api/runs/a/events')).status).toBe(403);
    expect((await get('/ops/runs/viewer.js')).status).toBe(403);
    expect(asked).toEqual([undefined, 'a', 'a', 'a', undefined]);

    const throwing = await setup(() => {
      throw new Error('auth backend down');
    });
    const failed = await throwing.get('/ops/runs/api/runs');
    expect(failed.status).toBe(500);
    expect(await failed.text()).not.toContain('auth backend down');
    expect(throwing.errors).toHaveLength(1);
  });

  it('streams a run over SSE with the CSP header, and ends after its final event', async () => {
    const { get, events } = await setup();
    await events.append('a', { type: 'text-delta', runId: 'a', turn: 1, text: 'hi' });
    await events.append('a', {
      type: 'task-finished',
      runId: 'a',
      status: 'completed',
      attempt: 1,
    });
    const response = await get('/ops/runs/api/runs/a/events');
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const body = await response.text();
    expect(body).toContain('event: text-delta');
    expect(body).toContain('event: task-finished');
  });

  it('refuses options that cannot work, naming them', () => {
    const runs = createMemoryRunStore();
    const events = createMemoryEventLog();
    // @ts-expect-error authorize is required
    expect(() => createRunViewer({ runs, events })).toThrow(/authorize is required/);
    expect(() =>
      createRunViewer({ runs, events, authorize: () => true, basePath: 'runs' }),
    ).toThrow(/basePath must be a path starting with "\/"/);
  });
});
