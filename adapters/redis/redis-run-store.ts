import {
  ConflictError,
  InvalidOptionError,
  type ParsedRunQuery,
  type RunRecord,
  type RunStanding,
  type RunStore,
  STORE_DEFAULTS,
} from 'loopwork';
import { listPosition, parseRunQuery, runCursor } from 'loopwork/adapter-kit';
import type { RedisClient } from './client';
import { RUN_STORE_HANDLE, type RunStoreHandle } from './handles';
import { storeKeys } from './keys';
import type { RedisStoreOptions } from './redis-stores';
import {
  CREATE_RUN,
  fromHash,
  fromPairs,
  runStoreHandle,
  TRANSITION_RUN_READ,
} from './run-scripts';

/** Options of {@link createRedisRunStore}. */
export interface RedisRunStoreOptions extends RedisStoreOptions {
  /** A final run's record expires this long after it ended. @defaultValue STORE_DEFAULTS.runRetentionMs (7 days) */
  retainMs?: number;
}

const SCRIPTS = {
  loopworkCreateRun: { numberOfKeys: 3, lua: CREATE_RUN },
  loopworkTransitionRun: { numberOfKeys: 1, lua: TRANSITION_RUN_READ },
  /** KEYS: run hashes (numberOfKeys first). → status, attempt and cancel of each, in order. */
  loopworkRunStandings: {
    lua: `
local out = {}
for i = 1, #KEYS do
  local fields = redis.call('HMGET', KEYS[i], 'status', 'attempt', 'cancel')
  out[#out + 1] = fields[1] or false
  out[#out + 1] = fields[2] or false
  out[#out + 1] = fields[3] or false
end
return out`,
  },
} as const;

/** Runs read in one standings script at most. */
const STANDINGS_BATCH = 500;

type Script = (...args: Array<string | number>) => Promise<unknown>;
type ScriptClient = RedisClient & Record<keyof typeof SCRIPTS, Script>;

/**
 * Run records on Redis: a hash per run, one sorted set per status scored by its staleness clock
 * (the watchdog's stale-run query and the status listing read it without scanning), and one
 * sorted set of all runs by `queuedAt` (the listing). Transitions are one Lua compare-and-set on
 * status, version and attempt. A final run's hash expires `retainMs` after it ended; the ids it
 * leaves in the indexes are swept as they are met.
 *
 * @example
 * ```ts
 * const runs = createRedisRunStore({ client: redis, retainMs: 3 * 24 * 3_600_000 });
 * const { runs: failed } = await runs.list({ status: 'failed', limit: 20 });
 * ```
 */
export function createRedisRunStore(options: RedisRunStoreOptions): RunStore {
  const client = options.client as ScriptClient;
  for (const [name, script] of Object.entries(SCRIPTS))
    if (!(name in client)) client.defineCommand(name, script);
  const retainMs = options.retainMs ?? STORE_DEFAULTS.runRetentionMs;
  if (!(Number.isFinite(retainMs) && retainMs > 0))
    throw new InvalidOptionError(
      `[loopwork:redis] retainMs must be a positive number, got ${retainMs}`,
    );
  const prefix = options.prefix ?? 'loopwork';
  const keys = storeKeys(prefix);
  const handle = runStoreHandle(client, prefix, retainMs);

  /** The records of `ids`, in order; ids whose record expired are dropped from `index`. */
  async function readAll(ids: string[], index: string): Promise<Array<RunRecord | undefined>> {
    if (ids.length === 0) return [];
    const pipeline = client.pipeline();
    for (const id of ids) pipeline.hgetall(keys.run(id));
    const results = (await pipeline.exec()) ?? [];
    const records = results.map(([error, hash]) => {
      if (error) throw error;
      return fromHash(hash as Record<string, string>);
    });
    const gone = ids.filter((_, i) => records[i] === undefined);
    if (gone.length > 0) await client.zrem(index, ...gone);
    return records;
  }

  /** One page of `query` from its index, newest first, scanning at most a bounded number of ids. */
  async function page(query: ParsedRunQuery) {
    const index = query.status ? keys.runsByStatus(query.status) : keys.runsAll;
    const matched: RunRecord[] = [];
    const budget = Math.max(500, query.limit * 10);
    let scanned = 0;
    let max = query.after ? String(query.after.score) : '+inf';
    let skip = 0; // ids already seen at exactly `max`
    let last: { score: number; runId: string } | undefined;
    while (matched.length <= query.limit && scanned < budget) {
      const batch = (await client.zrevrangebyscore(
        index,
        max,
        '-inf',
        'WITHSCORES',
        'LIMIT',
        skip,
        200,
      )) as string[];
      if (batch.length === 0) return { matched, exhausted: true, last };
      const entries: Array<{ runId: string; score: number }> = [];
      for (let i = 0; i + 1 < batch.length; i += 2)
        entries.push({ runId: batch[i] as string, score: Number(batch[i + 1]) });
      const lastScore = entries.at(-1)!.score;
      const atLast = entries.filter((entry) => entry.score === lastScore).length;
      skip = String(lastScore) === max ? skip + atLast : atLast;
      max = String(lastScore);
      const fresh = entries.filter((entry) => {
        const after = query.after;
        return (
          !after ||
          entry.score < after.score ||
          (entry.score === after.score && entry.runId < after.runId)
        );
      });
      const records = await readAll(
        fresh.map((entry) => entry.runId),
        index,
      );
      for (const [i, record] of records.entries()) {
        scanned += 1;
        last = fresh[i];
        if (
          record &&
          (query.status === undefined || record.status === query.status) &&
          (query.taskType === undefined || record.taskType === query.taskType) &&
          (query.groupId === undefined || record.groupId === query.groupId)
        )
          matched.push(record);
        if (matched.length > query.limit) break;
      }
    }
    return { matched, exhausted: false, last };
  }

  const store: RunStore & { [RUN_STORE_HANDLE]?: RunStoreHandle } = {
    specificationVersion: 'loopwork.run-store.v2',
    async create(record) {
      const { keys: scriptKeys, args } = handle.create(record);
      const created = await client.loopworkCreateRun(...scriptKeys, ...args);
      if (Number(created) !== 1) {
        throw new ConflictError(`[loopwork:redis] run "${record.runId}" already exists`, null, 1);
      }
    },
    async get(runId) {
      return fromHash(await client.hgetall(keys.run(runId)));
    },
    async transition(runId, transition) {
      const { keys: scriptKeys, args } = handle.transition(runId, transition);
      const moved = await client.loopworkTransitionRun(...scriptKeys, ...args);
      return Array.isArray(moved) ? fromPairs(moved as string[]) : undefined;
    },
    async list(query = {}) {
      const parsed = parseRunQuery(query);
      const { matched, exhausted, last } = await page(parsed);
      const runs = matched.slice(0, parsed.limit);
      if (matched.length > parsed.limit)
        return { runs, cursor: runCursor(listPosition(runs.at(-1)!, query)) };
      // The scan budget ran out before the page filled: carry on from the last id looked at.
      return !exhausted && last ? { runs, cursor: runCursor(last) } : { runs };
    },
    async getStandings(runIds) {
      const standings: Array<RunStanding | undefined> = [];
      for (let i = 0; i < runIds.length; i += STANDINGS_BATCH) {
        const batch = runIds.slice(i, i + STANDINGS_BATCH);
        const flat = (await client.loopworkRunStandings(
          batch.length,
          ...batch.map((runId) => keys.run(runId)),
        )) as Array<string | null>;
        for (let j = 0; j < batch.length; j++) {
          const [status, attempt, cancel] = flat.slice(3 * j, 3 * j + 3);
          if (!status) {
            standings.push(undefined);
            continue;
          }
          const standing: RunStanding = {
            status: status as RunStanding['status'],
            attempt: Number(attempt),
          };
          if (cancel) standing.cancel = JSON.parse(cancel);
          standings.push(standing);
        }
      }
      return standings;
    },
    async listStale(status, before, limit = 100) {
      const index = keys.runsByStatus(status);
      const ids = await client.zrangebyscore(index, '-inf', `(${before}`, 'LIMIT', 0, limit);
      const records = await readAll(ids, index);
      return records.filter((record): record is RunRecord => record !== undefined);
    },
  };
  // Not enumerable: the queue finds it (jointWith), a spread or a log of the store does not.
  Object.defineProperty(store, RUN_STORE_HANDLE, { value: handle });
  return store;
}
