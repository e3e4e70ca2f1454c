// The run viewer in a real headless Chromium (Debian's `chromium`, driven by puppeteer-core): the
// page lists runs, shows a run's turns, follows a live event, and renders hostile run data as text.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createDispatcher,
  createMemoryEventLog,
  createMemoryQueue,
  createMemoryRunStore,
  createRunViewer,
  defineTask,
} from 'loopwork';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
const usage = {
  inputTokens: 300,
  outputTokens: 40,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
};

const runs = createMemoryRunStore();
const events = createMemoryEventLog();
const queue = createMemoryQueue();
const dispatcher = createDispatcher({ queue, runs, events });
const task = defineTask({ type: 'research', payload: z.object({ topic: z.string() }) });

let server: Server;
let base: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const authorized: Array<string | undefined> = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  }
  const viewer = createRunViewer({
    runs,
    events,
    basePath: '/viewer/',
    authorize: ({ headers, runId }) => {
      authorized.push(runId);
      return /(?:^|;\s*)session=good(?:;|$)/.test(headers.get('cookie') ?? '');
    },
    onError: (error) => pageErrors.push(`server: ${String(error)}`),
  });
  server = createServer((req, res) => void viewer.node(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/viewer/`;

  await dispatcher.dispatch(task, { topic: 'queued one' }, { runId: 'run-queued' });
  // Apart in time: the listing is newest first by dispatch time (ties go by run id).
  await sleep(5);
  await dispatcher.dispatch(task, { topic: 'hostile' }, { runId: HOSTILE });
  await runs.transition(HOSTILE, {
    from: ['queued'],
    to: 'failed',
    set: {
      attempt: 1,
      finishedAt: Date.now(),
      error: { code: 'handler_error', message: HOSTILE },
      output: HOSTILE,
    },
  });
  await events.append(HOSTILE, { type: 'text-delta', runId: HOSTILE, turn: 1, text: HOSTILE });
  await events.append(HOSTILE, {
    type: 'tool-call-started',
    runId: HOSTILE,
    turn: 1,
    toolCallId: 'c1',
    toolName: HOSTILE,
    input: { html: HOSTILE },
  });
  await events.append(HOSTILE, {
    type: 'tool-call-finished',
    runId: HOSTILE,
    turn: 1,
    toolCallId: 'c1',
    toolName: HOSTILE,
    output: HOSTILE,
    durationMs: 3,
  });
  await sleep(5);
  await dispatcher.dispatch(task, { topic: 'live' }, { runId: 'run-live' });
  await runs.transition('run-live', {
    from: ['queued'],
    to: 'running',
    set: { attempt: 1, startedAt: Date.now() },
  });
  await events.append('run-live', {
    type: 'turn-started',
    runId: 'run-live',
    turn: 1,
    maxOutputTokens: 100,
    estimatedInputTokens: 300,
  });
  await events.append('run-live', {
    type: 'text-delta',
    runId: 'run-live',
    turn: 1,
    text: 'Reading the sources',
  });

  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium refuses to sandbox as root (CI containers); the page is our own, on loopback.
    args:
      process.getuid?.() === 0
        ? ['--no-sandbox', '--disable-dev-shm-usage']
        : ['--disable-dev-shm-usage'],
  });
  page = await browser.newPage();
  page.on('pageerror', (error) => pageErrors.push(`page: ${String(error)}`));
  page.on('response', (response) => {
    if (response.status() >= 400) pageErrors.push(`http ${response.status()}: ${response.url()}`);
  });
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
  });
  await page.setCookie({ name: 'session', value: 'good', url: base });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

const text = (selector: string) => page.$eval(selector, (node) => node.textContent ?? '');

describe('run viewer in headless Chromium', () => {
  it('serves the page with a Content-Security-Policy and lists the runs', async () => {
    const response = await page.goto(base, { waitUntil: 'domcontentloaded' });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForFunction("document.querySelectorAll('#runs tr').length === 3");
    const ids = await page.$$eval('#runs tr', (rows) =>
      rows.map((row) => row.getAttribute('data-run-id')),
    );
    expect(ids).toEqual(['run-live', HOSTILE, 'run-queued']); // newest first
    expect(await text('#runs')).toContain('queued');
  });

  it('shows a run and follows it live: a new event appears without reloading', async () => {
    await page.click('tr[data-run-id="run-live"]');
    await page.waitForFunction(
      "document.querySelector('#turns .text')?.textContent === 'Reading the sources'",
    );
    expect(await text('#live')).toBe('following live…');
    await events.append('run-live', {
      type: 'text-delta',
      runId: 'run-live',
      turn: 1,
      text: ', then writing.',
    });
    await events.append('run-live', {
      type: 'tool-call-started',
      runId: 'run-live',
      turn: 1,
      toolCallId: 't1',
      toolName: 'fetch_page',
      input: { url: 'https://example.com' },
    });
    await events.append('run-live', {
      type: 'tool-call-finished',
      runId: 'run-live',
      turn: 1,
      toolCallId: 't1',
      toolName: 'fetch_page',
      output: '200 OK',
      durationMs: 42,
    });
    await events.append('run-live', {
      type: 'turn-finished',
      runId: 'run-live',
      turn: 1,
      usage,
      costUsd: 0.0123,
      stopReason: 'tool_use',
    });
    await page.waitForFunction(
      "document.querySelector('#turns .usage')?.textContent?.includes('$0.0123')",
    );
    expect(await text('#turns .text')).toBe('Reading the sources, then writing.');
    expect(await text('#turns .tool.finished')).toContain('200 OK  (42 ms)');
    expect(await text('#turns .usage')).toBe('340 tokens (300 in, 40 out) · $0.0123 · tool_use');
    expect(await text('#run-totals')).toBe('total: 340 tokens · $0.0123');
    await runs.transition('run-live', {
      from: ['running'],
      to: 'completed',
      set: { finishedAt: Date.now() },
    });
    await events.append('run-live', {
      type: 'task-finished',
      runId: 'run-live',
      status: 'completed',
      attempt: 1,
    });
    await page.waitForFunction(
      "document.querySelector('#live')?.textContent === 'ended: completed'",
    );
    await page.waitForFunction("document.querySelector('#run-facts .status-completed') !== null");
    expect(authorized).toContain('run-live');
  });

  it('renders hostile run data as text: no element or script from it, ever', async () => {
    await page.click(`tr[data-run-id="${HOSTILE.replace(/"/g, '\\"')}"]`);
    await page.waitForFunction("document.querySelector('#turns .tool.finished') !== null");
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.$$('main img, main script')).toHaveLength(0);
    expect(await text('#run-title')).toBe(HOSTILE);
    expect(await text('#turns .text')).toBe(HOSTILE);
    expect(await text('#turns .tool strong')).toBe(HOSTILE);
    expect(await text('#run-facts')).toContain(`handler_error: ${HOSTILE}`);
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
  });

  it('refuses a browser without the session cookie', async () => {
    const other = await browser.createBrowserContext();
    try {
      const anonymous = await other.newPage();
      const response = await anonymous.goto(base);
      expect(response?.status()).toBe(403);
    } finally {
      await other.close();
    }
  });
});
