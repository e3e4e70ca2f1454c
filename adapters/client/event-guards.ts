import type { AgentEvent, AgentEventType, EventTooLarge, TaskEvent } from 'loopwork';

/** Every event a worker writes to a run's log: the agent's, the orchestration's, and placeholders. */
export type RunLogEvent = AgentEvent | TaskEvent | EventTooLarge;

/** The `type` of each {@link RunLogEvent}. */
export type RunLogEventType = RunLogEvent['type'];

/** The {@link RunLogEvent} of one `type`. */
export type RunLogEventOf<Type extends RunLogEventType> = Extract<RunLogEvent, { type: Type }>;

type Kind = 'string' | 'number' | 'boolean' | 'object';

/**
 * The fields each event type must carry, and their kinds: what the guards check. Shallow on
 * purpose (a guard answers "which event is this", not "is every nested field well-formed"), and
 * keyed by every type, so adding an event type without a row here fails to compile.
 */
const AGENT_FIELDS = {
  'run-started': { runId: 'string', resumed: 'boolean', turnsSoFar: 'number' },
  'turn-started': {
    runId: 'string',
    turn: 'number',
    maxOutputTokens: 'number',
    estimatedInputTokens: 'number',
  },
  'text-delta': { runId: 'string', turn: 'number', text: 'string' },
  'turn-finished': {
    runId: 'string',
    turn: 'number',
    usage: 'object',
    costUsd: 'number',
    stopReason: 'string',
  },
  'tool-input-started': {
    runId: 'string',
    turn: 'number',
    toolCallId: 'string',
    toolName: 'string',
  },
  'tool-input-delta': {
    runId: 'string',
    turn: 'number',
    toolCallId: 'string',
    inputTextDelta: 'string',
  },
  'tool-call-started': {
    runId: 'string',
    turn: 'number',
    toolCallId: 'string',
    toolName: 'string',
  },
  'tool-call-finished': {
    runId: 'string',
    turn: 'number',
    toolCallId: 'string',
    toolName: 'string',
    output: 'string',
    durationMs: 'number',
  },
  'tool-call-failed': {
    runId: 'string',
    turn: 'number',
    toolCallId: 'string',
    toolName: 'string',
    reason: 'string',
    message: 'string',
    durationMs: 'number',
  },
  'model-retry': {
    runId: 'string',
    turn: 'number',
    attempt: 'number',
    delayMs: 'number',
    error: 'object',
  },
  'output-rejected': { runId: 'string', turn: 'number', refused: 'number', message: 'string' },
  'budget-warning': { runId: 'string', budget: 'string', used: 'number', limit: 'number' },
  suspended: { runId: 'string', suspensions: 'object' },
  'run-finished': {
    runId: 'string',
    status: 'string',
    turns: 'number',
    usage: 'object',
    costUsd: 'number',
  },
} as const satisfies Record<AgentEventType, Record<string, Kind>>;

const TASK_FIELDS = {
  'task-finished': { runId: 'string', status: 'string', attempt: 'number' },
  'task-retried': { runId: 'string', attempt: 'number', error: 'object', delayMs: 'number' },
} as const satisfies Record<TaskEvent['type'], Record<string, Kind>>;

const PLACEHOLDER_FIELDS = {
  'event-too-large': { bytes: 'number', limit: 'number' },
} as const satisfies Record<EventTooLarge['type'], Record<string, Kind>>;

const FIELDS: Record<string, Record<string, Kind>> = {
  ...AGENT_FIELDS,
  ...TASK_FIELDS,
  ...PLACEHOLDER_FIELDS,
};

const own = (table: object, key: string) => Object.hasOwn(table, key);

function hasFields(value: unknown, table: Record<string, Record<string, Kind>>): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const { type } = value as { type?: unknown };
  if (typeof type !== 'string' || !own(table, type)) return false;
  const fields = table[type] as Record<string, Kind>;
  for (const [name, kind] of Object.entries(fields)) {
    const field = (value as Record<string, unknown>)[name];
    if (typeof field !== kind || (kind === 'object' && field === null)) return false;
  }
  return true;
}

/**
 * True when `value` (an event's `data`, read from an event log or an SSE stream) is an
 * {@link AgentEvent}: a known `type` with the fields that type carries.
 *
 * @example
 * ```ts
 * for (const { data } of await events.read(runId)) {
 *   if (isAgentEvent(data) && data.type === 'turn-finished') console.log(data.costUsd);
 * }
 * ```
 */
export function isAgentEvent(value: unknown): value is AgentEvent {
  return hasFields(value, AGENT_FIELDS);
}

/** True when `value` is a {@link TaskEvent} (`task-finished`, `task-retried`). */
export function isTaskEvent(value: unknown): value is TaskEvent {
  return hasFields(value, TASK_FIELDS);
}

/** True when `value` is the placeholder a log stores for an event over its size limit. */
export function isEventTooLarge(value: unknown): value is EventTooLarge {
  return hasFields(value, PLACEHOLDER_FIELDS);
}

/** True when `value` is any {@link RunLogEvent}. */
export function isRunLogEvent(value: unknown): value is RunLogEvent {
  return hasFields(value, FIELDS);
}

/**
 * True when `value` is the {@link RunLogEvent} of `type`, narrowed to it.
 *
 * @example
 * ```ts
 * if (isEventOfType(data, 'tool-call-finished')) console.log(data.toolName, data.output);
 * ```
 */
export function isEventOfType<Type extends RunLogEventType>(
  value: unknown,
  type: Type,
): value is RunLogEventOf<Type> {
  return (value as { type?: unknown } | null)?.type === type && isRunLogEvent(value);
}

/** The types the guards know, in a fixed order (useful for filters in a UI). */
export const RUN_LOG_EVENT_TYPES = Object.keys(FIELDS) as readonly RunLogEventType[];
