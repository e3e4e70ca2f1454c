/**
 * A typed client for loopwork's run streams (`loopwork/client`), for browsers and Node: follow a
 * run's events over SSE with resume, and recognize events read back from an event log. Imports
 * nothing from Node and nothing from the core at run time.
 *
 * @packageDocumentation
 */
export type { RunLogEvent, RunLogEventOf, RunLogEventType } from './event-guards';
export {
  isAgentEvent,
  isEventOfType,
  isEventTooLarge,
  isRunLogEvent,
  isTaskEvent,
  RUN_LOG_EVENT_TYPES,
} from './event-guards';
export type {
  FollowedEvent,
  FollowRunOptions,
  UnrecognizedEvent,
} from './follow-run';
export { FOLLOW_RUN_DEFAULTS, followRun } from './follow-run';
export type { FollowRunErrorCode } from './follow-run-error';
export { FollowRunError } from './follow-run-error';
