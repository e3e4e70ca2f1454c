import type { BaseCheckpointSaver } from '@langchain/langgraph';
import { InvalidStateError } from 'loopwork';

/** A value as LangGraph's serializer wrote it: its JSON inline, or other bytes in base64. */
export type StoredValue = { type: string; json: unknown } | { type: string; base64: string };

/** One checkpoint of a thread. */
export interface StoredCheckpoint {
  /** Checkpoint namespace ('' for the root graph, `node:task` for a subgraph). */
  ns: string;
  /** The checkpoint's id (a UUIDv6: ids sort by time). */
  id: string;
  /** The checkpoint it followed. */
  parentId?: string;
  /** LangGraph's checkpoint, serialized. */
  checkpoint: StoredValue;
  /** Its metadata (source, step, parents), serialized. */
  metadata: StoredValue;
  /** The graph uses delta channels: its ancestors are needed to rebuild them, so none is pruned. */
  keepAncestors?: true;
}

/** One pending write of a task, saved against the checkpoint it starts from. */
export interface StoredWrite {
  /** Checkpoint namespace of the task. */
  ns: string;
  /** The checkpoint the task started from. */
  checkpointId: string;
  /** The task that wrote it. */
  taskId: string;
  /** Index of the write in its task (special channels use LangGraph's negative indices). */
  idx: number;
  /** The channel written. */
  channel: string;
  /** The value written, serialized. */
  value: StoredValue;
  /** The task's path (LangGraph replays a step's writes in path order). */
  taskPath: string;
}

/**
 * A LangGraph thread as plain JSON: what the loopwork checkpointer keeps in
 * `RunState.runtime.handle`. Only the latest checkpoints of each namespace (and their pending
 * writes) are kept: enough to continue the thread, not its whole history.
 */
export interface ThreadHandle {
  /** Format and version of this JSON. */
  format: 'loopwork.langgraph.thread.v1';
  /** LangGraph's `thread_id`. */
  threadId: string;
  /** The latest checkpoints of each namespace. */
  checkpoints: StoredCheckpoint[];
  /** Pending writes of the tasks that started from them. */
  writes: StoredWrite[];
}

/** Name written in `RunState.runtime.name` next to a {@link ThreadHandle}. */
export const RUNTIME_NAME = 'langgraph';

/** LangGraph's indices for its special channels (`WRITES_IDX_MAP`): one write per task each. */
const SPECIAL_WRITE_INDEX: Record<string, number> = {
  __error__: -1,
  __scheduled__: -2,
  __interrupt__: -3,
  __resume__: -4,
};

/** A new, empty thread. */
export const emptyThread = (threadId: string): ThreadHandle => ({
  format: 'loopwork.langgraph.thread.v1',
  threadId,
  checkpoints: [],
  writes: [],
});

/** The thread in a run state's `runtime` field; undefined when there is none. */
export function threadOf(
  runtime: { name: string; handle: unknown } | undefined,
  where: string,
): ThreadHandle | undefined {
  if (runtime === undefined) return undefined;
  const handle = runtime.handle as Partial<ThreadHandle> | null;
  if (
    runtime.name !== RUNTIME_NAME ||
    handle?.format !== 'loopwork.langgraph.thread.v1' ||
    typeof handle.threadId !== 'string' ||
    !Array.isArray(handle.checkpoints) ||
    !Array.isArray(handle.writes)
  ) {
    throw new InvalidStateError(
      `[loopwork:langgraph] ${where} holds state of runtime "${runtime.name}", not a LangGraph thread; continue it with the runtime that wrote it, or start a new session`,
    );
  }
  return handle as ThreadHandle;
}

/** LangGraph's serializer, as every checkpoint saver carries it. */
type SerializerProtocol = BaseCheckpointSaver['serde'];

const decoder = new TextDecoder();

/** Serializes a value with LangGraph's serializer into JSON. */
export async function dump(serde: SerializerProtocol, value: unknown): Promise<StoredValue> {
  const [type, bytes] = await serde.dumpsTyped(value);
  if (type === 'json') return { type, json: JSON.parse(decoder.decode(bytes)) };
  return { type, base64: Buffer.from(bytes).toString('base64') };
}

/** Reads back a value written by {@link dump}. */
export function revive(serde: SerializerProtocol, stored: StoredValue): Promise<unknown> {
  if ('json' in stored) return serde.loadsTyped(stored.type, JSON.stringify(stored.json));
  return serde.loadsTyped(stored.type, new Uint8Array(Buffer.from(stored.base64, 'base64')));
}

/** Compares strings by code point, as LangGraph orders task paths and ids. */
function byCodePoint(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const x = (left[i] as string).codePointAt(0) as number;
    const y = (right[i] as string).codePointAt(0) as number;
    if (x !== y) return x - y;
  }
  return left.length - right.length;
}

/** The writes of one checkpoint in LangGraph's replay order: (task path, task id, index). */
export function writesOf(handle: ThreadHandle, ns: string, checkpointId: string): StoredWrite[] {
  return handle.writes
    .filter((write) => write.ns === ns && write.checkpointId === checkpointId)
    .sort(
      (a, b) =>
        byCodePoint(a.taskPath, b.taskPath) || byCodePoint(a.taskId, b.taskId) || a.idx - b.idx,
    );
}

/** The checkpoint `id` of namespace `ns`, or its latest (ids are time-ordered UUIDv6). */
export function findCheckpoint(
  handle: ThreadHandle,
  ns: string,
  id: string | undefined,
): StoredCheckpoint | undefined {
  let found: StoredCheckpoint | undefined;
  for (const checkpoint of handle.checkpoints) {
    if (checkpoint.ns !== ns) continue;
    if (id ? checkpoint.id === id : !found || checkpoint.id > found.id) found = checkpoint;
  }
  return found;
}

/**
 * The thread with `checkpoint` added. Older checkpoints of its namespace beyond the newest
 * `keep` are dropped with their writes, unless the graph needs its ancestors. Returns a new
 * object: a save in flight keeps the handle it started with.
 */
export function withCheckpoint(
  handle: ThreadHandle,
  checkpoint: StoredCheckpoint,
  keep: number,
): ThreadHandle {
  const { ns } = checkpoint;
  let own = handle.checkpoints.filter((c) => c.ns === ns && c.id !== checkpoint.id);
  own = [...own, checkpoint].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (!own.some((c) => c.keepAncestors) && own.length > keep) own = own.slice(-keep);
  const oldest = (own[0] as StoredCheckpoint).id;
  return {
    ...handle,
    checkpoints: [...handle.checkpoints.filter((c) => c.ns !== ns), ...own],
    // Writes may arrive before their checkpoint is put (async durability): keep any not older
    // than the oldest checkpoint kept.
    writes: handle.writes.filter((w) => w.ns !== ns || w.checkpointId >= oldest),
  };
}

/**
 * The thread with a task's writes added, as LangGraph's own savers do: a regular write already
 * saved for the same task and index is kept (a replayed task), a special one replaced.
 */
export function withWrites(handle: ThreadHandle, writes: StoredWrite[]): ThreadHandle {
  let all = handle.writes;
  for (const write of writes) {
    const same = (w: StoredWrite) =>
      w.ns === write.ns &&
      w.checkpointId === write.checkpointId &&
      w.taskId === write.taskId &&
      w.idx === write.idx;
    if (write.idx >= 0 && all.some(same)) continue;
    all = [...all.filter((w) => !same(w)), write];
  }
  return { ...handle, writes: all };
}

/** The index LangGraph files write number `position` of a task under. */
export const writeIndex = (channel: string, position: number): number =>
  SPECIAL_WRITE_INDEX[channel] ?? position;
