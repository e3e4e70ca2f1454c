import type { RunRecord, RunTransition } from 'loopwork';
import type { RedisClient } from './client';

/**
 * Handles the Redis stores keep under registered symbols (not enumerable, off the public
 * surface), so the Redis queue can write their keys inside its own scripts: the joint steps of
 * `createRedisQueue(…).jointWith(runs, { heartbeats, events })`. A wrapped store has none, and
 * gets the separate calls.
 */

/**
 * What the queue needs of a Redis run store to write its runs inside its own scripts (the joint
 * steps): the client, the keys' hash tag, and each script's keys and arguments. Found on the store
 * under {@link RUN_STORE_HANDLE}, so it stays off the public surface.
 */
export interface RunStoreHandle {
  client: RedisClient;
  /** The key prefix; every key of a run shares the hash tag `{prefix}`. */
  prefix: string;
  /** Keys, then arguments, of `CREATE_RUN` (run-scripts.ts) for `record`. */
  create(record: RunRecord): { keys: string[]; args: Array<string | number> };
  /** The joint claimStart's arguments after the claim's: the worker id, then where the runs are and how long they are kept. */
  startArgs(workerId: string): Array<string | number>;
  /** Keys, then arguments, of `TRANSITION_RUN`; `set`: the field/value pairs it writes. */
  transition(
    runId: string,
    transition: RunTransition,
  ): { keys: string[]; args: Array<string | number>; set: string[] };
}

/** Where a Redis run store keeps its {@link RunStoreHandle} (a registered symbol: it survives two copies of the package). */
export const RUN_STORE_HANDLE = Symbol.for('loopwork.redis.run-store');

/** What the queue needs of a Redis heartbeat store to write a run's first beat in its claim. */
export interface HeartbeatStoreHandle {
  client: RedisClient;
  /** The key prefix; the heartbeats share the hash tag `{prefix}` with the run records. */
  prefix: string;
}

/** Where a Redis heartbeat store keeps its {@link HeartbeatStoreHandle}. */
export const HEARTBEAT_STORE_HANDLE = Symbol.for('loopwork.redis.heartbeat-store');

/** What the queue needs of a Redis event log to append a run's `task-finished` event in its final write. */
export interface EventLogHandle {
  client: RedisClient;
  prefix: string;
  retainMs: number;
  /** The event's JSON as the log stores it (a too-large one as its placeholder). */
  encode(data: unknown): string;
}

/** Where a Redis event log keeps its {@link EventLogHandle}. */
export const EVENT_LOG_HANDLE = Symbol.for('loopwork.redis.event-log');

/** The handle `store` keeps under `symbol`, if any. */
export const handleOf = <T>(store: unknown, symbol: symbol): T | undefined =>
  typeof store === 'object' && store !== null
    ? ((store as Record<symbol, unknown>)[symbol] as T | undefined)
    : undefined;
