import { z } from 'zod';
import { InvalidStateError } from '../errors';
import type { Message, ToolResultPart } from '../model/messages';
import type { StopReason } from '../model/model';
import type { Usage } from '../model/usage';

/** Schema version written into every {@link RunState}; bumped on incompatible changes. */
export const RUN_STATE_SCHEMA_VERSION = 1;

/** How a run ended, or `running` while it has not. */
export type RunStatus =
  | 'running'
  | 'completed'
  | 'max_turns'
  | 'budget_exceeded'
  | 'timeout'
  | 'aborted'
  | 'suspended'
  | 'failed';

/** Usage and cost of one model call. */
export interface TurnRecord {
  /** 1-based turn number. */
  turn: number;
  modelId: string;
  usage: Usage;
  costUsd: number;
  stopReason: StopReason;
}

/** A tool call that paused the run until someone answers it. */
export interface Suspension {
  toolCallId: string;
  toolName: string;
  /** What the tool passed to `suspend()`, for example the question to ask a person. */
  payload: unknown;
}

/** How far a run with an `output` schema got with its answer. */
export interface OutputProgress {
  /** The answer that passed validation (the schema's output value); absent until one does. */
  value?: unknown;
  /** Answers refused so far (bad JSON, schema mismatch), resumes included. */
  refused: number;
  /** Why the last refused answer was refused, as the model was told. */
  lastError?: string;
}

/**
 * Everything needed to continue a run, as plain JSON. Saved after every completed step; pass it
 * back as `state` (or let the loop load it from the checkpoint store) to continue.
 */
export interface RunState {
  schemaVersion: typeof RUN_STATE_SCHEMA_VERSION;
  runId: string;
  status: RunStatus;
  system?: string;
  /** The transcript. When the last message is an assistant message with tool calls, those are pending. */
  messages: Message[];
  /** One record per completed model call. */
  turns: TurnRecord[];
  /** Results already obtained for the pending tool calls (so a resumed run never repeats them). */
  toolResults: ToolResultPart[];
  /** Pending tool calls waiting for an answer (status `suspended`). */
  suspensions: Suspension[];
  /** Why the run failed, when status is `failed` (or why its answer was refused, when a limit ended a run with `output`). */
  error?: { code: string; message: string };
  /** The structured answer and its refused attempts, for runs with an `output` schema. */
  output?: OutputProgress;
  /**
   * Set by runtimes other than loopwork's own loop: which one wrote this state, and its own state
   * to continue from (a session id, a serialized run), as JSON. `turns` still records the spend.
   */
  runtime?: { name: string; handle: unknown };
}

const usageSchema = z.object({
  inputTokens: z.number().nonnegative(),
  outputTokens: z.number().nonnegative(),
  cacheReadTokens: z.number().nonnegative(),
  cacheWriteTokens: z.number().nonnegative(),
  reasoningTokens: z.number().nonnegative(),
});
const textPart = z.object({ type: z.literal('text'), text: z.string() });
const imagePart = z.object({
  type: z.literal('image'),
  mediaType: z.string(),
  data: z.string().optional(),
  url: z.string().optional(),
});
const reasoningPart = z.object({
  type: z.literal('reasoning'),
  text: z.string(),
  providerMetadata: z.record(z.string(), z.unknown()).optional(),
});
const toolCallPart = z.object({
  type: z.literal('tool-call'),
  id: z.string(),
  name: z.string(),
  input: z.unknown(),
});
const toolResultPart = z.object({
  type: z.literal('tool-result'),
  toolCallId: z.string(),
  toolName: z.string(),
  output: z.string(),
  isError: z.boolean(),
});
const messageSchema = z.discriminatedUnion('role', [
  z.object({
    role: z.literal('user'),
    content: z.union([z.string(), z.array(z.union([textPart, imagePart]))]),
  }),
  z.object({
    role: z.literal('assistant'),
    content: z.array(z.union([textPart, toolCallPart, reasoningPart])),
  }),
  z.object({ role: z.literal('tool'), content: z.array(toolResultPart) }),
]);

const runStateSchema = z.object({
  schemaVersion: z.literal(RUN_STATE_SCHEMA_VERSION),
  runId: z.string().min(1),
  status: z.enum([
    'running',
    'completed',
    'max_turns',
    'budget_exceeded',
    'timeout',
    'aborted',
    'suspended',
    'failed',
  ]),
  system: z.string().optional(),
  messages: z.array(messageSchema),
  turns: z.array(
    z.object({
      turn: z.number().int().positive(),
      modelId: z.string(),
      usage: usageSchema,
      costUsd: z.number().nonnegative(),
      stopReason: z.enum([
        'end_turn',
        'tool_use',
        'max_tokens',
        'stop_sequence',
        'content_filter',
        'other',
      ]),
    }),
  ),
  toolResults: z.array(toolResultPart),
  suspensions: z.array(
    z.object({ toolCallId: z.string(), toolName: z.string(), payload: z.unknown() }),
  ),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  output: z
    .object({
      value: z.unknown().optional(),
      refused: z.number().int().nonnegative(),
      lastError: z.string().optional(),
    })
    .optional(),
  runtime: z.object({ name: z.string().min(1), handle: z.unknown() }).optional(),
});

/**
 * Checks that a value loaded from storage is a run state this version can continue.
 * Throws {@link InvalidStateError} naming the first bad field.
 */
export function parseRunState(value: unknown): RunState {
  const version = (value as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== RUN_STATE_SCHEMA_VERSION) {
    throw new InvalidStateError(
      `run state has schemaVersion ${JSON.stringify(version)}, this loopwork reads ${RUN_STATE_SCHEMA_VERSION}; ` +
        'migrate it or finish the run with the version that wrote it',
    );
  }
  const parsed = runStateSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') || '(root)';
    throw new InvalidStateError(`run state is invalid at ${path}: ${issue?.message}`, {
      cause: parsed.error,
    });
  }
  return parsed.data as RunState;
}
