/**
 * loopwork: a provider-agnostic runtime for long-lived LLM agents.
 *
 * @packageDocumentation
 */
export * from './agent/index';
export type { LoopworkErrorCode } from './errors';
export { ConflictError, InvalidOptionError, InvalidStateError, LoopworkError } from './errors';
export { createMemorySessionStore } from './memory/memory-session-store';
export * from './model/index';
export type { SessionStore, StoredRunState } from './store/session-store';
