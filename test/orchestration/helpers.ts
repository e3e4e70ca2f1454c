// Shared helpers for the orchestration tests (not a test file: vitest only collects *.test.ts).
import {
  type ClaimedMessage,
  createDispatcher,
  createMemoryEventLog,
  createMemoryHeartbeatStore,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
  createWorker,
  defineTool,
  type LoggedEvent,
  type ModelRequest,
  type Queue,
  type QueueCapabilities,
  type RunRecord,
  type RunStore,
  type Worker,
  type WorkerOptions,
} from 'loopwork';
import type { ScriptedTurn } from 'loopwork/testing';
import { afterEach } from 'vitest';
import { z } from 'zod';

/** A promise with its resolve function exposed. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` until it returns something truthy and resolves with it. The bound only keeps a
 * broken test from hanging: it fails the test with `what`, it never decides a pass.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = 5_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export { rejectionOf } from '../helpers/rejection';

/** One settling call a worker made on a message. */
export interface QueueCall {
  op: 'ack' | 'release' | 'deadLetter' | 'extend';
  message: ClaimedMessage;
  delayMs?: number;
  reason?: string;
}

/**
 * Wraps a queue to record ack / release / dead-letter / extend calls (made by anyone, including
 * refused ones; each message of an `extendMany` as an extend) and to let a test hold back lease
 * renewals.
 */
export function spyQueue(inner: Queue) {
  const calls: QueueCall[] = [];
  const control = { dropExtends: false };
  const queue: Queue = {
    specificationVersion: inner.specificationVersion,
    adapter: inner.adapter,
    capabilities: inner.capabilities,
    enqueue: (name, body, options) => inner.enqueue(name, body, options),
    claim: (names, options) => inner.claim(names, options),
    ack(message) {
      calls.push({ op: 'ack', message });
      return inner.ack(message);
    },
    release(message, options) {
      calls.push({
        op: 'release',
        message,
        ...(options?.delayMs === undefined ? {} : { delayMs: options.delayMs }),
      });
      return inner.release(message, options);
    },
    async extend(message, leaseMs) {
      calls.push({ op: 'extend', message });
      // A renewal that never reached the queue (a network partition, a stalled event loop).
      if (control.dropExtends) return;
      return inner.extend(message, leaseMs);
    },
    ...(inner.extendMany
      ? {
          async extendMany(messages: readonly ClaimedMessage[], leaseMs: number) {
            for (const message of messages) calls.push({ op: 'extend', message });
            if (control.dropExtends) return messages.map(() => true);
            return inner.extendMany!(messages, leaseMs);
          },
        }
      : {}),
    deadLetter(message, reason) {
      calls.push({ op: 'deadLetter', message, reason });
      return inner.deadLetter(message, reason);
    },
    deadLetters: (name, options) => inner.deadLetters(name, options),
    ...(inner.removeDeadLetter ? { removeDeadLetter: inner.removeDeadLetter.bind(inner) } : {}),
    close: () => inner.close(),
  };
  const of = (op: QueueCall['op']) => calls.filter((call) => call.op === op);
  return { queue, calls, of, control };
}

/** A fresh set of memory implementations, wired like an application would wire them. */
export function memorySetup(options: { capabilities?: Partial<QueueCapabilities> } = {}) {
  const memory = createMemoryQueue();
  const spy = spyQueue({
    ...memory,
    capabilities: { ...memory.capabilities, ...options.capabilities },
  });
  const runs = createMemoryRunStore();
  const events = createMemoryEventLog();
  const heartbeats = createMemoryHeartbeatStore();
  const checkpoints = createMemorySessionStore();
  const dispatcher = createDispatcher({ queue: spy.queue, runs, events });
  const errors: unknown[] = [];
  const base = {
    queue: spy.queue,
    runs,
    events,
    heartbeats,
    onError: (e: unknown) => errors.push(e),
  };
  /** Creates a worker on this setup; every worker is stopped after the test. */
  const worker = (options: Partial<WorkerOptions> & Pick<WorkerOptions, 'handlers'>): Worker =>
    track(createWorker({ ...base, pollWaitMs: 20, ...options }));
  return { ...spy, runs, events, heartbeats, checkpoints, dispatcher, worker, errors };
}

const workers = new Set<Worker>();
/** Registers a worker to be stopped after the current test. */
export function track(worker: Worker): Worker {
  workers.add(worker);
  return worker;
}
afterEach(async () => {
  const all = [...workers];
  workers.clear();
  // A failed test may leave a handler blocked on a gate it never opened, ignoring its signal;
  // after 2 s such workers are dropped, so the failure is reported instead of a hook timeout.
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<true>((resolve) => {
    timer = setTimeout(() => resolve(true), 2_000);
  });
  const stopped = Promise.all(all.map((worker) => worker.stop({ graceMs: 0 })));
  if (await Promise.race([stopped, stuck])) for (const worker of all) worker.abandon();
  clearTimeout(timer);
});

/** Resolves with the run's record once `accept` holds for it. */
export function waitForRecord(
  runs: RunStore,
  runId: string,
  accept: (record: RunRecord) => boolean,
  what = 'the run record',
  timeoutMs?: number,
): Promise<RunRecord> {
  return waitFor(
    async () => {
      const record = await runs.get(runId);
      return record && accept(record) ? record : undefined;
    },
    `${what} of run "${runId}"`,
    timeoutMs,
  );
}

export const isStatus =
  (...statuses: RunRecord['status'][]) =>
  (record: RunRecord) =>
    statuses.includes(record.status);

/** The `type` of each logged event's data. */
export const typesOf = (events: readonly LoggedEvent[]) =>
  events.map((event) => (event.data as { type?: string }).type);

/**
 * A tool `step` that returns `step <n> done`, counting executions by idempotency key in
 * `executions`. `onExecute` runs first (a test can block or crash there).
 */
export function stepTool(
  executions: Map<string, number>,
  onExecute?: (context: { idempotencyKey: string; signal: AbortSignal }) => unknown,
) {
  return defineTool({
    name: 'step',
    description: 'Does step n of the job',
    input: z.object({ n: z.number().int() }),
    async execute({ n }, context) {
      executions.set(context.idempotencyKey, (executions.get(context.idempotencyKey) ?? 0) + 1);
      await onExecute?.(context);
      return `step ${n} done`;
    },
  });
}

/** Assistant messages so far in a request: the 0-based index of the turn being asked for. */
export const turnOf = (request: ModelRequest) =>
  request.messages.filter((message) => message.role === 'assistant').length;

/**
 * A deterministic script: turns 1..`toolTurns` each call `step` (with `callsPerTurn` calls, ids
 * `t<turn>_<i>`), then the model answers `finalText`. Decided from the request alone, so a
 * resumed run gets the same answers as an uninterrupted one.
 */
export function stepScript(toolTurns: number, finalText = 'all steps done', callsPerTurn = 1) {
  return (request: ModelRequest): ScriptedTurn => {
    const turn = turnOf(request) + 1;
    if (turn > toolTurns) return { text: finalText };
    return {
      toolCalls: Array.from({ length: callsPerTurn }, (_, i) => ({
        name: 'step',
        id: `t${turn}_${i}`,
        input: { n: turn * 10 + i },
      })),
    };
  };
}

/** The transcript `stepScript` produces for `prompt`, as an uninterrupted run ends with it. */
export function expectedTranscript(
  prompt: string,
  toolTurns: number,
  finalText = 'all steps done',
  callsPerTurn = 1,
) {
  const messages: unknown[] = [{ role: 'user', content: prompt }];
  for (let turn = 1; turn <= toolTurns; turn++) {
    const ids = Array.from({ length: callsPerTurn }, (_, i) => ({
      id: `t${turn}_${i}`,
      n: turn * 10 + i,
    }));
    messages.push({
      role: 'assistant',
      content: ids.map(({ id, n }) => ({ type: 'tool-call', id, name: 'step', input: { n } })),
    });
    messages.push({
      role: 'tool',
      content: ids.map(({ id, n }) => ({
        type: 'tool-result',
        toolCallId: id,
        toolName: 'step',
        output: `step ${n} done`,
        isError: false,
      })),
    });
  }
  messages.push({ role: 'assistant', content: [{ type: 'text', text: finalText }] });
  return messages;
}
