import type { Instrumentation } from '../instrumentation/instrumentation';
import type { Redactor } from '../secrets/redact';
import type { BlobStore } from '../store/blob-store';
import type { EventLog } from '../store/event-log';
import type { HeartbeatStore } from '../store/heartbeat-store';
import type { RunStore } from '../store/run-store';
import type { DueQueue } from './due-queue';
import type { Queue, QueueRunSteps } from './queue';
import type { Renewals } from './renewals';
import type { TaskHandler } from './task-handler';
import type { EmitWorkerEvent } from './worker-events';

/** What a worker's parts work with: its stores, handlers and settings, resolved. */
export interface WorkerDeps {
  queue: Queue;
  runs: RunStore;
  /** The queue's joint steps with `runs` (a final write and its ack in one), when it offers them. */
  joint: QueueRunSteps | undefined;
  /** Where runs beat; the watchdog reads them. */
  heartbeats: HeartbeatStore | undefined;
  /** Where `context.emit` and the task events go. */
  events: EventLog | undefined;
  /** Where outputs over `maxOutputBytes` go. */
  blobs: BlobStore | undefined;
  /** Wraps each attempt, when given. */
  instrumentation: Instrumentation | undefined;
  /** Handlers by task type. */
  handlers: ReadonlyMap<string, TaskHandler>;
  /** The worker's id: the run's `workerId` and the handler's `context.workerId`. */
  workerId: string;
  leaseMs: number;
  heartbeatTtlMs: number;
  abortGraceMs: number;
  maxDeliveries: number;
  maxOutputBytes: number;
  redactor: Redactor;
  /** Reports an error the worker survived (redacted, to `onError` and the `error` event). */
  report: (error: unknown) => void;
  /** Emits a worker event. */
  emit: EmitWorkerEvent;
  /** The worker's one timer: every attempt's heartbeats, renewals, time limit and grace period. */
  due: DueQueue;
  /** Renews the leases, and beats the heartbeats, of all running attempts together. */
  renewals: Renewals;
}
