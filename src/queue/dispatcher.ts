import { randomUUID } from 'node:crypto';
import { ConflictError, InvalidOptionError } from '../errors';
import type { RunRecord, RunStore } from '../store/run-store';
import type { Priority, Queue } from './queue';
import { assertPriority, parsePayload, type TaskDefinition, type TaskEnvelope } from './task';

/** Options of {@link Dispatcher.dispatch}. */
export interface DispatchOptions {
  /**
   * Your id for the run, and the dispatch's idempotency key: dispatching the same id again is a
   * no-op that returns the first (so a caller may safely retry a dispatch). @defaultValue a UUID
   */
  runId?: string;
  /** @defaultValue the task's priority */
  priority?: Priority;
  /** Not claimable before this many milliseconds. */
  delayMs?: number;
  /** Runs of one group (for example one conversation) execute one at a time, in order. */
  groupId?: string;
}

/** What a dispatch did. */
export interface DispatchResult {
  runId: string;
  /** True when a run with this id already existed, so nothing was enqueued. */
  deduplicated: boolean;
}

/** Validates payloads, records runs and enqueues them. */
export interface Dispatcher {
  /** Validates `payload` (throws `InvalidPayloadError` naming the field), records the run as queued, enqueues it. */
  dispatch<Payload>(
    task: TaskDefinition<Payload>,
    payload: Payload,
    options?: DispatchOptions,
  ): Promise<DispatchResult>;
  /** Enqueues an existing run again under its current attempt (used by the watchdog and retries). */
  redispatch(
    task: TaskDefinition,
    record: RunRecord,
    options?: { delayMs?: number },
  ): Promise<void>;
}

/**
 * Creates a dispatcher. The run record is written before the message, so a crash in between
 * leaves a queued run with no message, which the watchdog re-dispatches: nothing is lost.
 *
 * @example
 * ```ts
 * const dispatcher = createDispatcher({ queue, runs });
 * const { runId } = await dispatcher.dispatch(summarize, { url: 'https://example.com' });
 * ```
 */
export function createDispatcher(options: { queue: Queue; runs: RunStore }): Dispatcher {
  const { queue, runs } = options;
  const enqueue = (task: TaskDefinition, record: RunRecord, extra: DispatchOptions = {}) => {
    const envelope: TaskEnvelope = {
      v: 1,
      type: task.type,
      runId: record.runId,
      attempt: record.attempt,
      payload: record.payload,
      dispatchedAt: Date.now(),
    };
    return queue.enqueue(task.queue, JSON.stringify(envelope), {
      priority: extra.priority ?? task.priority,
      ...(extra.delayMs === undefined ? {} : { delayMs: extra.delayMs }),
      ...(extra.groupId === undefined ? {} : { groupId: extra.groupId }),
    });
  };

  return {
    async dispatch(task, payload, dispatchOptions = {}) {
      // An empty run id would be recorded, then dead-lettered by every worker ("no runId").
      const { runId } = dispatchOptions;
      if (runId !== undefined && (typeof runId !== 'string' || runId === '')) {
        throw new InvalidOptionError(
          `runId must be a non-empty string, got ${JSON.stringify(runId)}`,
        );
      }
      assertPriority(dispatchOptions.priority, 'priority');
      assertSupported(queue, dispatchOptions);
      const parsed = await parsePayload(task, payload);
      const now = Date.now();
      const record: RunRecord = {
        runId: dispatchOptions.runId ?? randomUUID(),
        taskType: task.type,
        status: 'queued',
        attempt: 1,
        payload: parsed,
        ...(dispatchOptions.groupId === undefined ? {} : { groupId: dispatchOptions.groupId }),
        ...(dispatchOptions.priority === undefined ? {} : { priority: dispatchOptions.priority }),
        createdAt: now,
        updatedAt: now,
      };
      try {
        await runs.create(record);
      } catch (error) {
        if (ConflictError.isInstance(error)) return { runId: record.runId, deduplicated: true };
        throw error;
      }
      await enqueue(task as TaskDefinition, record, dispatchOptions);
      return { runId: record.runId, deduplicated: false };
    },
    async redispatch(task, record, redispatchOptions = {}) {
      await enqueue(task, record, {
        ...redispatchOptions,
        ...(record.groupId === undefined ? {} : { groupId: record.groupId }),
        ...(record.priority === undefined ? {} : { priority: record.priority }),
      });
    },
  };
}

/**
 * Refuses, before anything is recorded, an option the queue cannot honour: recording the run and
 * then failing to enqueue it would leave a queued run with no message.
 */
function assertSupported(queue: Queue, options: DispatchOptions): void {
  const { capabilities, adapter } = queue;
  const refuse = (option: string, capability: string) => {
    throw new InvalidOptionError(
      `${option} is not supported by the ${adapter} queue (capabilities.${capability} is false)`,
    );
  };
  if (options.groupId !== undefined && !capabilities.groups) refuse('groupId', 'groups');
  if (options.delayMs !== undefined && options.delayMs > 0 && !capabilities.delay)
    refuse('delayMs', 'delay');
  const priority = options.priority;
  if (priority !== undefined && priority !== 'normal' && !capabilities.priority)
    refuse('priority', 'priority');
}
