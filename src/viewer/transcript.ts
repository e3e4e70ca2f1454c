import type { AgentEvent } from '../agent/events';
import type { Usage } from '../model/usage';
import type { TaskEvent } from '../queue/task-events';
import type { LoggedEvent } from '../store/event-log';

/** One tool call of a turn, as the run's events tell it. */
export interface TranscriptToolCall {
  toolCallId: string;
  toolName: string;
  input: unknown;
  /** `running` until its finished or failed event is read. */
  state: 'running' | 'finished' | 'failed';
  /** The tool's output (finished) or error message (failed). */
  output?: string;
  /** Why it failed (`threw`, `timeout`, `invalid_input` …). */
  reason?: string;
  durationMs?: number;
}

/** One model turn: what the model wrote, the tools it called, what it cost. */
export interface TranscriptTurn {
  turn: number;
  /** The model's text of the turn, its deltas joined. */
  text: string;
  toolCalls: TranscriptToolCall[];
  /** Set once the turn has finished. */
  usage?: Usage;
  costUsd?: number;
  stopReason?: string;
}

/** A run's event log read as a transcript: turns, totals, and how (whether) it ended. */
export interface Transcript {
  turns: TranscriptTurn[];
  /** Tokens of the finished turns (input, output, cache read and write). */
  totalTokens: number;
  /** Cost in USD of the finished turns. */
  costUsd: number;
  /** The `task-finished` event, once read. */
  finished?: Extract<TaskEvent, { type: 'task-finished' }>;
  /** Failed attempts the orchestration retried (`task-retried` events). */
  retries: number;
  /** Id of the last event read: where to follow on from. */
  lastEventId?: string;
}

/** Tokens a usage record counts (reasoning tokens are already part of `outputTokens`). */
export function usageTokens(usage: Usage): number {
  return usage.inputTokens + usage.outputTokens + usage.cacheReadTokens + usage.cacheWriteTokens;
}

/** An empty transcript, to {@link addToTranscript} events to one by one (when following live). */
export function emptyTranscript(): Transcript {
  return { turns: [], totalTokens: 0, costUsd: 0, retries: 0 };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/**
 * Adds one logged event to `transcript` (in place) and returns it. Events it does not know, or
 * whose fields are not what loopwork writes, are skipped: a log may hold other writers' events.
 */
export function addToTranscript(transcript: Transcript, event: LoggedEvent): Transcript {
  transcript.lastEventId = event.id;
  const data = event.data;
  if (!isObject(data) || typeof data.type !== 'string') return transcript;
  const turnOf = (turn: unknown): TranscriptTurn | undefined => {
    if (typeof turn !== 'number') return undefined;
    let found = transcript.turns.find((entry) => entry.turn === turn);
    if (!found) {
      found = { turn, text: '', toolCalls: [] };
      transcript.turns.push(found);
    }
    return found;
  };
  const e = data as AgentEvent | TaskEvent;
  switch (e.type) {
    case 'turn-started':
      turnOf(e.turn);
      break;
    case 'text-delta': {
      const turn = turnOf(e.turn);
      if (turn && typeof e.text === 'string') turn.text += e.text;
      break;
    }
    case 'tool-call-started':
      turnOf(e.turn)?.toolCalls.push({
        toolCallId: String(e.toolCallId),
        toolName: String(e.toolName),
        input: e.input,
        state: 'running',
      });
      break;
    case 'tool-call-finished':
    case 'tool-call-failed': {
      const turn = turnOf(e.turn);
      if (!turn) break;
      let call = turn.toolCalls.find((entry) => entry.toolCallId === e.toolCallId);
      if (!call) {
        call = {
          toolCallId: String(e.toolCallId),
          toolName: String(e.toolName),
          input: undefined,
          state: 'running',
        };
        turn.toolCalls.push(call);
      }
      call.state = e.type === 'tool-call-finished' ? 'finished' : 'failed';
      call.output = e.type === 'tool-call-finished' ? e.output : e.message;
      if (e.type === 'tool-call-failed') call.reason = e.reason;
      if (typeof e.durationMs === 'number') call.durationMs = e.durationMs;
      break;
    }
    case 'turn-finished': {
      const turn = turnOf(e.turn);
      if (!turn || !isObject(e.usage) || typeof e.costUsd !== 'number') break;
      turn.usage = e.usage;
      turn.costUsd = e.costUsd;
      turn.stopReason = e.stopReason;
      transcript.totalTokens += usageTokens(e.usage);
      transcript.costUsd += e.costUsd;
      break;
    }
    case 'task-retried':
      transcript.retries += 1;
      break;
    case 'task-finished':
      transcript.finished = e;
      break;
  }
  return transcript;
}

/**
 * Reads a run's logged events as a transcript: per turn, the model's text, its tool calls with
 * their input and output, usage and cost; totals; the final status once the run has ended.
 *
 * @example
 * ```ts
 * const transcript = toTranscript(await events.read(runId));
 * for (const turn of transcript.turns) console.log(turn.turn, turn.costUsd, turn.text);
 * ```
 */
export function toTranscript(events: readonly LoggedEvent[]): Transcript {
  const transcript = emptyTranscript();
  for (const event of events) addToTranscript(transcript, event);
  return transcript;
}
