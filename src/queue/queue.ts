import type { EventLog } from '../store/event-log';
import type { HeartbeatStore } from '../store/heartbeat-store';
import type { RunRecord, RunStore, RunTransition } from '../store/run-store';

/** How urgently a message should be claimed; adapters map the levels onto what they have. */
export type Priority = 'high' | 'normal' | 'low';

/** Options of {@link Queue.enqueue}. */
export interface EnqueueOptions {
  /** Claimed before lower levels once available. @defaultValue 'normal' */
  priority?: Priority;
  /** Not claimable until this many milliseconds from now. */
  delayMs?: number;
  /** While a message with this id is still in the queue (ready, delayed or leased), enqueueing another is a no-op. */
  dedupeId?: string;
  /** Messages of one group are leased one at a time, in enqueue order. */
  groupId?: string;
}

/** A message held under a lease by one consumer. */
export interface ClaimedMessage {
  /** Stable id of the message across deliveries. */
  id: string;
  /** Queue it was claimed from. */
  queue: string;
  /** The body exactly as enqueued. */
  body: string;
  /** 1 on the first delivery, then +1 each time the message is delivered again. */
  deliveryCount: number;
  /** Opaque token of this delivery; operations on a lost lease are refused. */
  receipt: string;
  groupId?: string;
}

/** A message taken out of circulation, with why. */
export interface DeadLetter {
  id: string;
  queue: string;
  body: string;
  reason: string;
  deliveryCount: number;
}

/** How many messages of one queue are in each state: a snapshot, from {@link Queue.stats}. */
export interface QueueStats {
  /** Waiting to be claimed: due now, or a group member waiting for its turn. */
  ready: number;
  /** Not due yet (a delay, or a release's back-off). */
  delayed: number;
  /** Held under a lease that has not run out. */
  leased: number;
  /** In the dead-letter store. */
  deadLettered: number;
}

/** What an adapter supports; the conformance suite skips nothing it does not declare. */
export interface QueueCapabilities {
  priority: boolean;
  delay: boolean;
  dedupe: boolean;
  groups: boolean;
}

/** Options of {@link Queue.claim}. */
export interface ClaimOptions {
  /** Name of the claiming consumer (worker); used for recovery and diagnostics. */
  consumer: string;
  /** The lease: unless extended or settled within it, the message is delivered again. */
  leaseMs: number;
  /** Most messages to return. @defaultValue 1 */
  max?: number;
  /** Wait this long for a message when none is ready (long poll). @defaultValue 0 */
  waitMs?: number;
  /** Ends the wait early. */
  signal?: AbortSignal;
  /**
   * Deliveries allowed per message for this claim: a message that would be delivered more often
   * is dead-lettered instead of returned. The lower of this and the adapter's own
   * `maxDeliveries` option applies. @defaultValue the adapter's `maxDeliveries` (unlimited)
   */
  maxDeliveries?: number;
  /**
   * Called with the letter before a message is dead-lettered for too many deliveries, so the
   * caller can record the outcome first (a worker ends the run `dead_lettered`). The message is
   * dead-lettered once it resolves; when it rejects, the message is left leased to this claim and
   * comes back after its lease, to be tried again.
   */
  onDeadLetter?: (letter: DeadLetter) => Promise<void>;
}

/**
 * A queue's and a run store's writes that the queue can make as one atomic step (one round trip
 * instead of two), from {@link Queue.jointWith}. Each does what the two calls it replaces do, in
 * the same order, with no crash point between them. The worker and the dispatcher use them when
 * the queue offers them, and the separate calls otherwise.
 */
export interface QueueRunSteps {
  /**
   * True when `claimAndStart`, given `heartbeatTtlMs`, also writes each started run's first
   * heartbeat (`run:<runId>`, data `{ workerId }`) to the heartbeat store passed to `jointWith`.
   */
  readonly beats?: boolean;
  /**
   * True when `transitionAndAck`, given an event, also appends it to the run's log in the event
   * log passed to `jointWith`.
   */
  readonly appendsEvents?: boolean;
  /**
   * `runs.transition(record.runId, transition)`, then, only when it applied, `ack(message)` and,
   * when `event` is given (see `appendsEvents`), `events.append(record.runId, event)`. Resolves
   * with the written record, as `runs.get` would read it, or undefined when the transition did
   * not apply (nothing else is done). A lost lease does not undo the write: the ack is skipped,
   * as a worker skips a failed ack after its final write (the message comes back and finds its
   * run ended).
   *
   * `record` is the run as the caller last read it, unchanged. When the transition is fenced on
   * its version (`transition.version === record.version`), nothing else wrote the run in between,
   * so the adapter may build the written record from it (skipping a read, or the record in the
   * reply) instead of reading it back. Otherwise only its `runId` counts.
   */
  transitionAndAck(
    record: RunRecord,
    transition: RunTransition,
    message: ClaimedMessage,
    event?: unknown,
  ): Promise<RunRecord | undefined>;
  /**
   * `runs.create(record)`, then `enqueue(queue, body, options)`: both or neither. Rejects with
   * `ConflictError`, enqueueing nothing, when the run already exists.
   */
  createAndEnqueue(
    record: RunRecord,
    queue: string,
    body: string,
    options?: EnqueueOptions,
  ): Promise<{ id: string; deduplicated: boolean }>;
  /**
   * Optional: `claim(queues, options)`, where each message `createAndEnqueue` sent, on its first
   * delivery, also starts its run as a worker's first write would (`freshStart` with this
   * `workerId` and message: fenced on the record as the dispatcher made it, queued at version 1,
   * attempt 0), in the same step. Resolves with the messages in claim order, each with the record
   * that start wrote when it applied; the worker then goes on from that record.
   */
  claimAndStart?(
    queues: readonly string[],
    options: ClaimOptions & { workerId: string; heartbeatTtlMs?: number },
  ): Promise<StartedClaim[]>;
}

/** A message claimed by {@link QueueRunSteps.claimAndStart}, with its run's record when the claim started it. */
export interface StartedClaim {
  message: ClaimedMessage;
  started?: RunRecord;
}

/**
 * The queue contract every adapter implements (memory, Redis Streams, BullMQ, SQS).
 * Delivery is at least once: a message whose lease runs out is delivered again, to anyone.
 */
export interface Queue {
  /** Contract version this object implements. */
  readonly specificationVersion: 'loopwork.queue.v2';
  /** Adapter name, used in error messages (`memory`, `redis` …). */
  readonly adapter: string;
  readonly capabilities: QueueCapabilities;
  /** Adds a message; resolves with its id (the existing one when deduplicated). */
  enqueue(
    queue: string,
    body: string,
    options?: EnqueueOptions,
  ): Promise<{ id: string; deduplicated: boolean }>;
  /** Leases up to `max` ready messages from the queues, in priority order, waiting up to `waitMs`. */
  claim(queues: readonly string[], options: ClaimOptions): Promise<ClaimedMessage[]>;
  /** Settles a message for good. Rejects with `LeaseLostError` when the lease was lost. */
  ack(message: ClaimedMessage): Promise<void>;
  /** Returns a message for another delivery after `delayMs`. Rejects with `LeaseLostError` when the lease was lost. */
  release(message: ClaimedMessage, options?: { delayMs?: number }): Promise<void>;
  /** Extends the lease to `leaseMs` from now (the queue-level heartbeat). Rejects with `LeaseLostError` when lost. */
  extend(message: ClaimedMessage, leaseMs: number): Promise<void>;
  /**
   * Optional: what `extend(message, leaseMs)` does, for each of `messages` (of any of this queue's
   * queues), in one call. Resolves with an answer per message, in order: true when its lease was
   * extended, false when it was lost (where `extend` rejects with `LeaseLostError`). Rejects only
   * when the call as a whole failed. A worker renews the leases of all its running attempts with
   * one call per round when the queue has it, else with an `extend` each.
   */
  extendMany?(messages: readonly ClaimedMessage[], leaseMs: number): Promise<boolean[]>;
  /** Moves a message to the dead-letter store with a reason. Rejects with `LeaseLostError` when lost. */
  deadLetter(message: ClaimedMessage, reason: string): Promise<void>;
  /** Dead-lettered messages of a queue, oldest first. */
  deadLetters(queue: string, options?: { limit?: number }): Promise<DeadLetter[]>;
  /**
   * Optional: takes the dead letter `id` of `queue` out of the dead-letter store for good.
   * Resolves true when it removed it, false when there was no such letter (so a second call is a
   * no-op). `redriveDeadLetter` calls it once the letter's work is dispatched again.
   */
  removeDeadLetter?(queue: string, id: string): Promise<boolean>;
  /**
   * Optional: the joint steps with run store `runs`, when this queue can write both in one atomic
   * step (the Redis queue and a Redis run store on the same client and, on a Cluster, in one hash
   * slot); undefined otherwise. Given the worker's heartbeat store and event log, the steps may
   * also write those (`beats`, `appendsEvents`). Asked once by each worker and dispatcher.
   */
  jointWith?(
    runs: RunStore,
    stores?: { heartbeats?: HeartbeatStore | undefined; events?: EventLog | undefined },
  ): QueueRunSteps | undefined;
  /** Optional: counts the queue's messages by state (for dashboards and `loopwork queues stats`). */
  stats?(queue: string): Promise<QueueStats>;
  /** Stops waiting claims (they resolve empty) and releases resources. Idempotent. */
  close(): Promise<void>;
}
