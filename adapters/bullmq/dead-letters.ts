import type { Redis } from 'ioredis';
import type { DeadLetter } from 'loopwork';

/**
 * Moves one failed job out of BullMQ's `failed` set into the dead-letter stream, in one atomic
 * step: it leaves the set, its id, body, reason and delivery count are appended to the stream,
 * and its keys are deleted. A job already moved (ZREM finds nothing) is left alone, so running
 * it twice for one job cannot write two dead letters.
 *
 * KEYS: failed set, dead-letter stream. ARGV: job key prefix, job id, delivery count ('' = the
 * job's own attemptsStarted). → 1 when moved, 0 when it was not in the failed set.
 */
const MOVE_TO_DEAD = `
if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then return 0 end
local jobKey = ARGV[1] .. ARGV[2]
local job = redis.call('HMGET', jobKey, 'data', 'failedReason', 'ats')
local deliveries = ARGV[3]
if deliveries == '' then deliveries = job[3] or '0' end
redis.call('XADD', KEYS[2], '*', 'id', ARGV[2], 'data', job[1] or '""', 'reason', job[2] or '',
  'deliveries', deliveries)
redis.call('DEL', jobKey, jobKey .. ':logs', jobKey .. ':dependencies', jobKey .. ':processed',
  jobKey .. ':failed', jobKey .. ':unsuccessful')
return 1`;

const COMMAND = 'loopworkBullmqMoveToDead';
type Client = Redis & Record<typeof COMMAND, (...args: string[]) => Promise<number>>;

/** The keys of one BullMQ queue that dead-lettering touches. */
export interface DeadLetterKeys {
  /** BullMQ's `failed` sorted set. */
  failed: string;
  /** The dead-letter stream (the adapter's own key beside BullMQ's). */
  dead: string;
  /** What a job id is appended to for the job's hash key (`<prefix>:<queue>:`). */
  jobPrefix: string;
}

/** Entries a dead-letter search reads per XRANGE. */
const SEARCH_PAGE = 200;

/** A stream entry's flat field list as an object. */
function fieldsOf(list: readonly string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) fields[list[i]!] = list[i + 1]!;
  return fields;
}

/** The job's data field back as the body: BullMQ stores it JSON-encoded. */
function bodyOf(data: string): string {
  try {
    const parsed: unknown = JSON.parse(data);
    return typeof parsed === 'string' ? parsed : data;
  } catch {
    return data;
  }
}

/**
 * The dead-letter destination BullMQ lacks: one Redis stream per queue. A message is
 * dead-lettered in two steps, each atomic: BullMQ's own `moveToFailed` (fenced by the lock
 * token) puts it in the failed set, then {@link moveToDead} moves it into the stream. A crash in
 * between leaves it in the failed set, out of circulation; {@link sweep} finishes the move, and
 * `deadLetters()` sweeps before it reads.
 */
export function deadLetterStore(client: Redis) {
  const scripted = client as Client;
  if (!(COMMAND in scripted)) client.defineCommand(COMMAND, { numberOfKeys: 2, lua: MOVE_TO_DEAD });

  const moveToDead = (keys: DeadLetterKeys, jobId: string, deliveries?: number) =>
    scripted[COMMAND](
      keys.failed,
      keys.dead,
      keys.jobPrefix,
      jobId,
      deliveries === undefined ? '' : String(deliveries),
    );

  return {
    moveToDead,

    /** Moves every job left in the failed set (by a crash, or failed by BullMQ itself) into the stream. */
    async sweep(keys: DeadLetterKeys): Promise<void> {
      for (let round = 0; round < 100; round++) {
        const ids = await client.zrange(keys.failed, '0', '99');
        for (const id of ids) await moveToDead(keys, id);
        if (ids.length < 100) return;
      }
    },

    /**
     * Takes the letter `id` out for good; false when there is no such letter. A job still in the
     * failed set (which `deadLetters()` would sweep into the stream and list) is moved into the
     * stream first, so it is found like any other. The letter is found by its `id` field a page
     * at a time, oldest first, then deleted by its entry id: entry ids are never reused, so XDEL
     * alone is the atomic step, and of two removals racing one deletes it, the other finds it
     * gone. A group it headed is advanced by the next sweep, as after a crash (see groups.ts).
     */
    async remove(keys: DeadLetterKeys, id: string): Promise<boolean> {
      await moveToDead(keys, id);
      let start = '-';
      for (;;) {
        const page = (await client.xrange(
          keys.dead,
          start,
          '+',
          'COUNT',
          String(SEARCH_PAGE),
        )) as Array<[string, string[]]>;
        for (const [streamId, list] of page) {
          if ((fieldsOf(list).id ?? streamId) === id) {
            return (await client.xdel(keys.dead, streamId)) === 1;
          }
        }
        if (page.length < SEARCH_PAGE) return false;
        start = `(${page[page.length - 1]![0]}`;
      }
    },

    async list(keys: DeadLetterKeys, queue: string, limit?: number): Promise<DeadLetter[]> {
      if (limit !== undefined && limit <= 0) return [];
      const entries = (await (limit === undefined
        ? client.xrange(keys.dead, '-', '+')
        : client.xrange(keys.dead, '-', '+', 'COUNT', String(limit)))) as Array<[string, string[]]>;
      return entries.map(([streamId, list]): DeadLetter => {
        const fields = fieldsOf(list);
        return {
          id: fields.id ?? streamId,
          queue,
          body: bodyOf(fields.data ?? '""'),
          reason: fields.reason ?? '',
          deliveryCount: Number(fields.deliveries ?? 0),
        };
      });
    },
  };
}
