import type { Redis } from 'ioredis';
import { SCRIPTS } from './group-lua';

/**
 * The keys of one BullMQ queue that group bookkeeping touches. The adapter's own keys are
 * sub-keys (`loopwork:…`): BullMQ's removeOrphanedJobs deletes other plain keys under a queue.
 */
export interface GroupKeys {
  /** Hash: group id → id of its head, the one member that is (or is becoming) a BullMQ job. */
  heads: string;
  /** Hash: member id → the member (JSON), from enqueue until its job is activated. */
  members: string;
  /** Sorted set: heads whose job is being added, scored with when that began (Redis ms). */
  promoting: string;
  /** Plus a group id: the list of the group's waiting members, oldest first. */
  groupPrefix: string;
  /** What a job id is appended to for the job's hash key (`<prefix>:<queue>:`). */
  jobPrefix: string;
  /** BullMQ's `delayed` and `prioritized` sorted sets, `marker` key and priority counter (`pc`). */
  delayed: string;
  prioritized: string;
  marker: string;
  priorityCounter: string;
  /** Plus a dedupe id: BullMQ's deduplication key. */
  dedupePrefix: string;
}

type Scripted = Redis & {
  [name in keyof typeof SCRIPTS]: (...args: string[]) => Promise<unknown>;
};

/** A member as the adapter stores it until it becomes a job. */
export interface Member {
  id: string;
  body: string;
  group: string;
  /** BullMQ priority (1 high … 3 low). */
  priority: number;
  /** Not claimable before this time (ms since the epoch, the enqueuing process's clock). */
  dueAt: number;
  dedupeId?: string;
  /** Its place in enqueue order (a value of BullMQ's priority counter), once stored. */
  seq?: number;
}

const encode = (member: Member): string =>
  JSON.stringify({
    b: member.body,
    g: member.group,
    p: member.priority,
    d: member.dueAt,
    ...(member.dedupeId === undefined ? {} : { de: member.dedupeId }),
  });

/** A member as ENQUEUE stored it: `<seq>:<JSON>`. */
function decode(id: string, stored: string): Member {
  const colon = stored.indexOf(':');
  const raw = JSON.parse(stored.slice(colon + 1)) as {
    b: string;
    g: string;
    p: number;
    d: number;
    de?: string;
  };
  return {
    id,
    seq: Number(stored.slice(0, colon)),
    body: raw.b,
    group: raw.g,
    priority: raw.p,
    dueAt: raw.d,
    ...(raw.de === undefined ? {} : { dedupeId: raw.de }),
  };
}

/** The members of a script's flat `id, stored member` reply; one without data ('') has nothing to deliver. */
function members(reply: unknown): Member[] {
  const flat = (reply as string[] | null) ?? [];
  const out: Member[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if (flat[i + 1]) out.push(decode(flat[i]!, flat[i + 1]!));
  }
  return out;
}

/**
 * The group scripts, each one atomic step, typed. See groups.ts for how they fit together.
 */
export function groupScripts(client: Redis) {
  const scripted = client as Scripted;
  for (const [name, [numberOfKeys, lua]] of Object.entries(SCRIPTS)) {
    if (!(name in scripted)) client.defineCommand(name, { numberOfKeys, lua });
  }
  const base = (keys: GroupKeys) => [keys.heads, keys.members, keys.promoting] as const;

  return {
    /** Records a grouped member: deduplicated (onto `id`), waiting, or the `head` (to promote). */
    async enqueue(
      keys: GroupKeys,
      member: Member,
      dedupeHoldMs: number,
    ): Promise<{ id: string; deduplicated: boolean; head?: Member }> {
      const dedupeKey =
        member.dedupeId === undefined ? keys.members : keys.dedupePrefix + member.dedupeId;
      const [id, deduplicated, head] = (await scripted.loopworkBullmqGroupEnqueue(
        ...base(keys),
        keys.groupPrefix + member.group,
        dedupeKey,
        keys.priorityCounter,
        member.id,
        member.group,
        encode(member),
        keys.jobPrefix,
        member.dedupeId ?? '',
        String(dedupeHoldMs),
      )) as [string, number, string?];
      return {
        id,
        deduplicated: deduplicated === 1,
        ...(head === undefined ? {} : { head: decode(id, head) }),
      };
    },

    /** The next head after `settled`, when `settled` was still the head of `group`. */
    async advance(keys: GroupKeys, group: string, settled: string): Promise<Member | undefined> {
      const reply = (await scripted.loopworkBullmqGroupAdvance(
        ...base(keys),
        group,
        settled,
        keys.groupPrefix,
      )) as [string, string] | null;
      return reply ? decode(reply[0], reply[1]) : undefined;
    },

    /** See ACTIVATE: 1 activated, 0 nothing to do, -1 the job is not there yet, -2 orphan deleted. */
    async activate(keys: GroupKeys, member: Member, now: number): Promise<number> {
      const dedupeKey =
        member.dedupeId === undefined ? keys.members : keys.dedupePrefix + member.dedupeId;
      return (await scripted.loopworkBullmqGroupActivate(
        keys.members,
        keys.promoting,
        keys.delayed,
        keys.prioritized,
        keys.marker,
        keys.jobPrefix + member.id,
        dedupeKey,
        member.id,
        String(member.dueAt),
        String(now),
        member.dedupeId ?? '',
        String(member.priority),
        String(member.seq ?? 0),
      )) as number;
    },

    /** New heads of those `groups` whose settled head was never advanced. */
    async repair(keys: GroupKeys, groups: readonly string[]): Promise<Member[]> {
      if (groups.length === 0) return [];
      const reply = await scripted.loopworkBullmqGroupRepair(
        ...base(keys),
        keys.jobPrefix,
        keys.groupPrefix,
        ...groups,
      );
      return members(reply);
    },

    /** Heads promoting for longer than `graceMs`. */
    async stale(keys: GroupKeys, graceMs: number, limit: number): Promise<Member[]> {
      const reply = await scripted.loopworkBullmqGroupStale(
        keys.promoting,
        keys.members,
        String(Math.max(0, Math.floor(graceMs))),
        String(limit),
      );
      return members(reply);
    },

    /** Deletes orphaned parked jobs (see ORPHANS); `lowestParkedScore` in BullMQ's score units. */
    async discardOrphans(keys: GroupKeys, lowestParkedScore: number): Promise<number> {
      return (await scripted.loopworkBullmqGroupOrphans(
        keys.delayed,
        keys.promoting,
        String(lowestParkedScore),
        keys.jobPrefix,
      )) as number;
    },
  };
}
