// The worker's listener map and the handler's outcome are typed: each event's arguments, and a
// handler's output flowing into `outcome`.
import {
  type ClaimedMessage,
  createWorker,
  defineTask,
  handleTask,
  type JobOutcome,
  outcome,
  type RunError,
  type RunRecord,
  type TaskOutcome,
  type Worker,
} from 'loopwork';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';

declare const worker: Worker;

describe('worker events', () => {
  it('types each listener’s arguments', () => {
    worker.on('claimed', (run) => expectTypeOf(run).toEqualTypeOf<RunRecord>());
    worker.on('failed', (run, error) => {
      expectTypeOf(run).toEqualTypeOf<RunRecord>();
      expectTypeOf(error).toEqualTypeOf<RunError>();
    });
    worker.on('retrying', (_run, _error, delayMs) => expectTypeOf(delayMs).toBeNumber());
    worker.on('dead_lettered', (run, _error, message) => {
      expectTypeOf(run).toEqualTypeOf<RunRecord | undefined>();
      expectTypeOf(message).toEqualTypeOf<ClaimedMessage | undefined>();
    });
    worker.on('lease_lost', (runId) => expectTypeOf(runId).toBeString());
    worker.on('error', (error) => expectTypeOf(error).toBeUnknown());
    // @ts-expect-error: not an event of the worker
    worker.on('stalled', () => {});
    // @ts-expect-error: `failed` listeners get the error as a RunError, not a string
    worker.on('failed', (_run: RunRecord, _error: string, _extra: number) => {});
    expectTypeOf(worker.on('completed', () => {})).toEqualTypeOf<Worker>();
  });

  it('runOnce says how the message ended', () => {
    expectTypeOf(worker.runOnce()).resolves.toEqualTypeOf<JobOutcome>();
  });
});

describe('handlers', () => {
  const task = defineTask({ type: 't', payload: z.object({ url: z.string() }) });

  it('return their output, or an outcome of it', () => {
    const plain = handleTask(task, async ({ url }) => ({ pages: url.length }));
    expectTypeOf(plain.run).returns.resolves.toEqualTypeOf<
      { pages: number } | TaskOutcome<{ pages: number }>
    >();
    handleTask(task, async () => outcome({ status: 'max_turns', output: 'partial', costUsd: 0.1 }));
    // @ts-expect-error: not a status a handler may end with
    outcome({ status: 'running' });
    createWorker({ queue: {} as never, runs: {} as never, handlers: [plain] });
  });
});
