/**
 * loopwork: a provider-agnostic runtime for long-lived LLM agents.
 *
 * @packageDocumentation
 */
export * from './agent/index';
export type { LoopworkErrorCode } from './errors';
export {
  ConflictError,
  InvalidOptionError,
  InvalidPayloadError,
  InvalidStateError,
  LeaseLostError,
  LoopworkError,
  OutputValidationError,
} from './errors';
export type {
  AgentRunInfo,
  AttemptInfo,
  DispatchInfo,
  Instrumentation,
  ModelCallInfo,
  ToolCallEnd,
  ToolCallInfo,
  TraceCarrier,
} from './instrumentation/index';
export * from './memory/index';
export * from './model/index';
export * from './queue/index';
export * from './runtime/index';
export * from './secrets/index';
export * from './store/index';
export * from './stream/index';
export * from './viewer/index';
