import type { RunnableConfig } from '@langchain/core/runnables';
import type {
  BaseCheckpointSaver,
  Checkpoint,
  CheckpointMetadata,
  CheckpointTuple,
} from '@langchain/langgraph';
import {
  ConflictError,
  InvalidOptionError,
  RUN_STATE_SCHEMA_VERSION,
  type RunState,
  type SessionStore,
} from 'loopwork';
import { LANGGRAPH_DEFAULTS } from './defaults';
import { isMessageList, type LoopworkTranscript, toLoopworkTranscript } from './messages';
import { loadPeers, type Peers, perPeers } from './peers';
import {
  dump,
  emptyThread,
  findCheckpoint,
  RUNTIME_NAME,
  revive,
  type StoredCheckpoint,
  type StoredWrite,
  type ThreadHandle,
  threadOf,
  withCheckpoint,
  withWrites,
  writeIndex,
  writesOf,
} from './thread-handle';

/** A thread as saved: the handle and the transcript of its latest root checkpoint. */
export interface SavedThread {
  /** The thread's checkpoints and pending writes. */
  handle: ThreadHandle;
  /** The latest root checkpoint's messages, in loopwork's format. */
  transcript: LoopworkTranscript;
}

/** Where a {@link ThreadHandle} lives between calls. */
export interface ThreadStorage {
  /** Reads the thread and its transcript (undefined: none yet). */
  read(threadId: string): Promise<SavedThread | undefined>;
  /** Saves the thread, with its root transcript in loopwork's format for viewers. */
  write(threadId: string, handle: ThreadHandle, transcript: LoopworkTranscript): Promise<void>;
  /** Forgets the thread. */
  remove(threadId: string): Promise<void>;
  /** Others may write it too: read it again at the start of each graph call. */
  readonly shared: boolean;
}

/** Saves one at a time; a save asked for while one runs is merged with any others asked for. */
class CoalescingWriter {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  constructor(private readonly save: () => Promise<void>) {}

  /** Resolves once a save that started after this call has finished. */
  schedule(): Promise<void> {
    if (this.queued) return this.queued;
    const before = this.running ?? Promise.resolve();
    const next: Promise<void> = before
      .catch(() => {})
      .then(async () => {
        this.queued = undefined;
        this.running = next;
        try {
          await this.save();
        } finally {
          if (this.running === next) this.running = undefined;
        }
      });
    this.queued = next;
    return next;
  }

  /** Resolves when no save is running or queued (rejects with the last one's error). */
  async idle(): Promise<void> {
    while (this.queued ?? this.running) await (this.queued ?? this.running);
  }

  get busy(): boolean {
    return this.queued !== undefined || this.running !== undefined;
  }
}

/** One thread as a saver holds it: the handle, its transcript, and its ordered updates. */
class Thread {
  handle: ThreadHandle;
  transcript: LoopworkTranscript = { messages: [] };
  private updates: Promise<unknown> = Promise.resolve();
  readonly writer: CoalescingWriter;

  constructor(
    readonly threadId: string,
    saved: SavedThread | undefined,
    storage: ThreadStorage,
  ) {
    this.handle = saved?.handle ?? emptyThread(threadId);
    if (saved) this.transcript = saved.transcript;
    this.writer = new CoalescingWriter(() => {
      // The handle is replaced, never changed in place: this save keeps the one it started with.
      return storage.write(threadId, this.handle, this.transcript);
    });
  }

  /** Runs `change` after every update asked for before it (LangGraph calls put and putWrites concurrently). */
  update<T>(change: () => Promise<T>): Promise<T> {
    const result = this.updates.then(change);
    this.updates = result.catch(() => {});
    return result;
  }
}

/** Options of {@link loopworkCheckpointer}. */
export interface LoopworkCheckpointerOptions {
  /** Where threads are saved, one `RunState` per thread (its `runtime.handle` holds the thread). */
  store: SessionStore;
  /** Key of a thread in the store. @defaultValue `langgraph:<threadId>` */
  key?: (threadId: string) => string;
  /** Checkpoints kept per namespace of a thread. @defaultValue LANGGRAPH_DEFAULTS.keepCheckpoints */
  keepCheckpoints?: number;
}

/** Options of the saver class, whatever stores its threads. */
export interface SaverOptions {
  /** Where the threads are read from and saved to. */
  storage: ThreadStorage;
  /** Checkpoints kept per namespace of a thread. @defaultValue LANGGRAPH_DEFAULTS.keepCheckpoints */
  keepCheckpoints?: number;
}

/** The saver as the runtime uses it, beyond LangGraph's `BaseCheckpointSaver`. */
export interface LoopworkCheckpointSaver extends BaseCheckpointSaver {
  /** Waits until every save of every thread has finished (rejects with a failed one's error). */
  flush(): Promise<void>;
}

/** The LangGraph checkpoint saver backed by loopwork storage, built on the peers' base class. */
export const saverClass: (peers: Peers) => new (options: SaverOptions) => LoopworkCheckpointSaver =
  perPeers((peers: Peers) => {
    const { BaseCheckpointSaver: Base, copyCheckpoint } = peers.langgraph;

    return class LoopworkCheckpointSaver extends Base {
      private readonly threads = new Map<string, Promise<Thread>>();
      private readonly storage: ThreadStorage;
      private readonly keep: number;

      constructor(options: SaverOptions) {
        super();
        this.storage = options.storage;
        this.keep = options.keepCheckpoints ?? LANGGRAPH_DEFAULTS.keepCheckpoints;
        if (!Number.isInteger(this.keep) || this.keep < 1) {
          throw new InvalidOptionError(
            `[loopwork:langgraph] keepCheckpoints must be a positive integer, got ${this.keep}`,
          );
        }
      }

      /** The thread, read from storage on first use. */
      thread(threadId: string): Promise<Thread> {
        let thread = this.threads.get(threadId);
        if (!thread) {
          thread = this.storage
            .read(threadId)
            .then((saved) => new Thread(threadId, saved, this.storage));
          thread.catch(() => this.threads.delete(threadId));
          this.threads.set(threadId, thread);
        }
        return thread;
      }

      /** Waits until every save of every thread has finished (rejects with a failed one's error). */
      async flush(): Promise<void> {
        for (const thread of this.threads.values()) await (await thread).writer.idle();
      }

      private async tupleOf(thread: Thread, stored: StoredCheckpoint): Promise<CheckpointTuple> {
        const thread_id = thread.threadId;
        const [checkpoint, metadata, pendingWrites] = await Promise.all([
          revive(this.serde, stored.checkpoint) as Promise<Checkpoint>,
          revive(this.serde, stored.metadata) as Promise<CheckpointMetadata>,
          Promise.all(
            writesOf(thread.handle, stored.ns, stored.id).map(
              async (write) =>
                [write.taskId, write.channel, await revive(this.serde, write.value)] as [
                  string,
                  string,
                  unknown,
                ],
            ),
          ),
        ]);
        return {
          config: {
            configurable: { thread_id, checkpoint_ns: stored.ns, checkpoint_id: stored.id },
          },
          checkpoint,
          metadata,
          pendingWrites,
          ...(stored.parentId === undefined
            ? {}
            : {
                parentConfig: {
                  configurable: {
                    thread_id,
                    checkpoint_ns: stored.ns,
                    checkpoint_id: stored.parentId,
                  },
                },
              }),
        };
      }

      async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
        const threadId = config.configurable?.thread_id as string | undefined;
        if (threadId === undefined) return undefined;
        const thread = await this.thread(threadId);
        return thread.update(async () => {
          // Another process may have moved a shared thread on: read it again unless this saver
          // has saves of its own in flight (those are newer).
          if (this.storage.shared && !thread.writer.busy) {
            const saved = await this.storage.read(threadId);
            thread.handle = saved?.handle ?? emptyThread(threadId);
            thread.transcript = saved?.transcript ?? { messages: [] };
          }
          const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
          const id = (config.configurable?.checkpoint_id as string | undefined) || undefined;
          const stored = findCheckpoint(thread.handle, ns, id);
          return stored && this.tupleOf(thread, stored);
        });
      }

      async *list(
        config: RunnableConfig,
        options: { limit?: number; before?: RunnableConfig; filter?: Record<string, unknown> } = {},
      ): AsyncGenerator<CheckpointTuple> {
        const threadId = config.configurable?.thread_id as string | undefined;
        const ns = config.configurable?.checkpoint_ns as string | undefined;
        const id = config.configurable?.checkpoint_id as string | undefined;
        const before = options.before?.configurable?.checkpoint_id as string | undefined;
        let limit = options.limit;
        const threads =
          threadId === undefined ? [...this.threads.values()] : [this.thread(threadId)];
        for (const pending of threads) {
          const thread = await pending;
          const candidates = thread.handle.checkpoints
            .filter((c) => (ns === undefined || c.ns === ns) && (!id || c.id === id))
            .filter((c) => !before || c.id < before)
            .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
          for (const stored of candidates) {
            if (limit !== undefined && limit <= 0) return;
            const tuple = await this.tupleOf(thread, stored);
            const metadata = (tuple.metadata ?? {}) as Record<string, unknown>;
            if (
              options.filter &&
              !Object.entries(options.filter).every(([k, v]) => metadata[k] === v)
            )
              continue;
            if (limit !== undefined) limit--;
            yield tuple;
          }
        }
      }

      async put(
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
      ): Promise<RunnableConfig> {
        const threadId = requireThreadId(config, 'put a checkpoint');
        const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
        const parentId = config.configurable?.checkpoint_id as string | undefined;
        const thread = await this.thread(threadId);
        await thread.update(async () => {
          const stored: StoredCheckpoint = {
            ns,
            id: checkpoint.id,
            ...(parentId ? { parentId } : {}),
            checkpoint: await dump(this.serde, copyCheckpoint(checkpoint)),
            metadata: await dump(this.serde, metadata),
            ...(metadata.counters_since_delta_snapshot ? { keepAncestors: true as const } : {}),
          };
          thread.handle = withCheckpoint(thread.handle, stored, this.keep);
          const messages = checkpoint.channel_values.messages;
          if (ns === '' && isMessageList(messages))
            thread.transcript = toLoopworkTranscript(messages);
        });
        await thread.writer.schedule();
        return {
          configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpoint.id },
        };
      }

      async putWrites(
        config: RunnableConfig,
        writes: Array<[string, unknown]>,
        taskId: string,
        taskPath?: string,
      ): Promise<void> {
        const threadId = requireThreadId(config, 'put writes');
        const checkpointId = config.configurable?.checkpoint_id as string | undefined;
        if (!checkpointId) {
          throw new InvalidOptionError(
            '[loopwork:langgraph] cannot put writes: the config has no configurable.checkpoint_id',
          );
        }
        const ns = (config.configurable?.checkpoint_ns as string | undefined) ?? '';
        const thread = await this.thread(threadId);
        await thread.update(async () => {
          const stored: StoredWrite[] = await Promise.all(
            writes.map(async ([channel, value], position) => ({
              ns,
              checkpointId,
              taskId,
              idx: writeIndex(channel, position),
              channel,
              value: await dump(this.serde, value),
              taskPath: taskPath ?? '',
            })),
          );
          thread.handle = withWrites(thread.handle, stored);
        });
        await thread.writer.schedule();
      }

      async deleteThread(threadId: string): Promise<void> {
        const thread = await this.thread(threadId);
        await thread.update(async () => {
          await thread.writer.idle().catch(() => {});
          thread.handle = emptyThread(threadId);
          thread.transcript = { messages: [] };
          await this.storage.remove(threadId);
        });
      }
    };
  });

function requireThreadId(config: RunnableConfig, what: string): string {
  const threadId = config.configurable?.thread_id as string | undefined;
  if (threadId === undefined) {
    throw new InvalidOptionError(
      `[loopwork:langgraph] cannot ${what}: the config has no configurable.thread_id; call the graph with { configurable: { thread_id } }`,
    );
  }
  return threadId;
}

/** Threads kept in a {@link SessionStore}, one run state per thread. */
function sessionStoreStorage(
  store: SessionStore,
  key: (threadId: string) => string,
): ThreadStorage {
  const versions = new Map<string, number | null>();
  return {
    shared: true,
    async read(threadId) {
      const loaded = await store.load(key(threadId));
      versions.set(threadId, loaded?.version ?? null);
      if (!loaded) return undefined;
      // A state written by another runtime has no LangGraph thread: refused, never overwritten.
      const runtime = loaded.state.runtime ?? { name: 'loopwork', handle: undefined };
      const handle = threadOf(runtime, `checkpoint "${key(threadId)}"`) as ThreadHandle;
      const { system, messages } = loaded.state;
      return { handle, transcript: { ...(system === undefined ? {} : { system }), messages } };
    },
    async write(threadId, handle, transcript) {
      const state: RunState = {
        schemaVersion: RUN_STATE_SCHEMA_VERSION,
        runId: threadId,
        status: 'running',
        ...(transcript.system === undefined ? {} : { system: transcript.system }),
        messages: transcript.messages,
        turns: [],
        toolResults: [],
        suspensions: [],
        runtime: { name: RUNTIME_NAME, handle },
      };
      try {
        versions.set(
          threadId,
          await store.save(key(threadId), state, versions.get(threadId) ?? null),
        );
      } catch (error) {
        if (!ConflictError.isInstance(error)) throw error;
        throw new ConflictError(
          `[loopwork:langgraph] thread "${threadId}" was saved by another writer since this one read it; run one graph call per thread at a time`,
          error.expectedVersion,
          error.actualVersion,
        );
      }
    },
    async remove(threadId) {
      await store.delete(key(threadId));
      versions.delete(threadId);
    },
  };
}

/**
 * A LangGraph checkpointer (`BaseCheckpointSaver`) that keeps each thread in a loopwork
 * {@link SessionStore} (memory, Redis, Postgres …), as a run state whose `runtime.handle` holds
 * the thread's latest checkpoints and pending writes, and whose `messages` hold its transcript.
 * Saves use the store's optimistic concurrency: a thread written by two graph calls at once
 * fails with a `ConflictError` instead of losing a step.
 *
 * @example
 * ```ts
 * const checkpointer = await loopworkCheckpointer({ store: createRedisSessionStore({ client }) });
 * const graph = workflow.compile({ checkpointer });
 * await graph.invoke({ messages: [new HumanMessage('hi')] }, { configurable: { thread_id: 't1' } });
 * ```
 */
export async function loopworkCheckpointer(
  options: LoopworkCheckpointerOptions,
): Promise<BaseCheckpointSaver> {
  const Saver = saverClass(await loadPeers());
  const key = options.key ?? ((threadId: string) => `${LANGGRAPH_DEFAULTS.keyPrefix}${threadId}`);
  return new Saver({
    storage: sessionStoreStorage(options.store, key),
    ...(options.keepCheckpoints === undefined ? {} : { keepCheckpoints: options.keepCheckpoints }),
  });
}
