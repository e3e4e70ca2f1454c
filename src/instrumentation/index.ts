export type {
  AgentRunInfo,
  AttemptInfo,
  DispatchInfo,
  Instrumentation,
  ModelCallInfo,
  ToolCallEnd,
  ToolCallInfo,
  TraceCarrier,
} from './instrumentation';
