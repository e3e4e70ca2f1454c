import { InvalidOptionError } from 'loopwork';

/** The name this runtime writes into the run states it checkpoints (`state.runtime.name`). */
export const RUNTIME_NAME = 'claude-agent-sdk';

/** One line of a Claude Code session transcript (JSON, kept as it came). */
export type TranscriptEntry = { type: string } & Record<string, unknown>;

/**
 * The Claude Agent SDK's state of a run, kept in the checkpoint (`state.runtime.handle`): the
 * session id to resume, and the session's transcript as Claude Code wrote it, so that any worker
 * (not only the one whose disk holds `~/.claude`) can resume it.
 */
export interface ClaudeSessionHandle {
  sessionId: string;
  /** The session transcript's entries, in order (Claude Code's JSONL lines). */
  entries: TranscriptEntry[];
}

function isHandle(value: unknown): value is ClaudeSessionHandle {
  const handle = value as Partial<ClaudeSessionHandle> | null;
  return typeof handle?.sessionId === 'string' && Array.isArray(handle.entries);
}

/** The session handle of a checkpointed run state; refuses a state another runtime wrote. */
export function sessionOf(
  runtime: { name: string; handle: unknown } | undefined,
  what: string,
): ClaudeSessionHandle | undefined {
  if (!runtime) return undefined;
  if (runtime.name !== RUNTIME_NAME || !isHandle(runtime.handle)) {
    throw new InvalidOptionError(
      `[loopwork:claude-agent-sdk] ${what} was written by runtime "${runtime.name}", not ${RUNTIME_NAME}: continue it with the runtime that wrote it`,
    );
  }
  return runtime.handle;
}

/**
 * The Agent SDK's `sessionStore` for one run: it loads the checkpointed transcript when the
 * session resumes and collects what Claude Code appends, so each checkpoint carries it.
 */
export class TranscriptStore {
  readonly entries: TranscriptEntry[];
  private readonly seen = new Set<string>();

  constructor(
    private sessionId: string | undefined,
    entries: readonly TranscriptEntry[],
    /** Called after each batch is appended. */
    private readonly onAppend: () => void,
  ) {
    this.entries = [...entries];
    for (const entry of entries) if (typeof entry.uuid === 'string') this.seen.add(entry.uuid);
  }

  /** The session id, once Claude Code has named it. */
  get session(): string | undefined {
    return this.sessionId;
  }

  /** The `sessionStore` object given to `query()`. */
  store() {
    return {
      append: async (key: { sessionId: string; subpath?: string }, batch: TranscriptEntry[]) => {
        // Subagent transcripts live under subpaths; only the main one is kept.
        if (key.subpath) return;
        this.sessionId ??= key.sessionId;
        if (key.sessionId !== this.sessionId) return;
        for (const entry of batch) {
          const uuid = typeof entry.uuid === 'string' ? entry.uuid : undefined;
          if (uuid && this.seen.has(uuid)) continue;
          if (uuid) this.seen.add(uuid);
          this.entries.push(entry);
        }
        this.onAppend();
      },
      load: async (key: { sessionId: string; subpath?: string }) =>
        key.sessionId === this.sessionId && !key.subpath && this.entries.length > 0
          ? this.entries
          : null,
    };
  }

  handle(): ClaudeSessionHandle | undefined {
    return this.sessionId ? { sessionId: this.sessionId, entries: this.entries } : undefined;
  }
}
