export type { BudgetLedger, BudgetLedgerOptions, CallTicket } from './budget-ledger';
export { BudgetStop } from './budget-ledger';
export type { LoopRuntimeSettings } from './loop-runtime';
export { loopRuntime } from './loop-runtime';
export type {
  Runtime,
  RuntimeInput,
  RuntimeLimits,
  RuntimeResult,
  RuntimeRunOptions,
} from './runtime';
export type { RuntimeTaskOptions, RuntimeTaskPayload } from './runtime-task';
export { runtimeTask } from './runtime-task';
