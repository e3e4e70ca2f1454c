export type { BudgetLedger, BudgetLedgerOptions, CallTicket } from './budget-ledger';
export { BudgetStop, createBudgetLedger } from './budget-ledger';
export type { LoopRuntimeSettings } from './loop-runtime';
export { loopRuntime } from './loop-runtime';
export { importOptionalPeer } from './optional-peer';
export type {
  Runtime,
  RuntimeInput,
  RuntimeLimits,
  RuntimeResult,
  RuntimeRunOptions,
} from './runtime';
export { asRuntimeError, failedBeforeStart, runtimeErrorRecord } from './runtime-failure';
export type { RuntimeTaskOptions, RuntimeTaskPayload } from './runtime-task';
export { runtimeTask } from './runtime-task';
export { describeIssues, describeThrown, toolOutputText } from './tool-text';
