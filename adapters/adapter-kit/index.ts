/**
 * `loopwork/adapter-kit`: the pieces loopwork's own adapters and runtimes are built from, for
 * writing another (a queue or store on another database, a runtime around another agent
 * framework). Versioned like the rest of the package, but not what an application imports: the
 * root `loopwork` holds the application's API, and these stay out of it.
 *
 * - Budgets: {@link createBudgetLedger} (the hard budget a runtime enforces call by call), and the
 *   loop's own arithmetic — {@link outputAllowance}, {@link budgetsToWarn},
 *   {@link turnLimitReached}, {@link ratesFor}, {@link worstCaseInputPerToken}.
 * - Runtime failures and tool text: {@link describeThrown}, {@link describeIssues},
 *   {@link toolOutputText}, {@link runtimeErrorRecord}, {@link asRuntimeError},
 *   {@link failedBeforeStart}; optional peers: {@link importOptionalPeer}; metered model calls
 *   through a budget proxy: {@link relayUpstream}.
 * - Stores: delta checkpoints ({@link DeltaEncoder}, {@link replayCheckpoint},
 *   {@link applyCheckpointDelta}), run listing ({@link parseRunQuery}, {@link listPosition},
 *   {@link runCursor}, {@link stalenessClock}); queues: {@link parseEnvelope},
 *   {@link assertDeadLetterRef}.
 *
 * @module
 */
export { budgetsToWarn, outputAllowance, turnLimitReached } from '../../src/agent/limits';
export { ratesFor, worstCaseInputPerToken } from '../../src/model/pricing';
export { assertDeadLetterRef } from '../../src/queue/dead-letter-ref';
export { parseEnvelope } from '../../src/queue/task';
export { createBudgetLedger } from '../../src/runtime/budget-ledger';
export { importOptionalPeer } from '../../src/runtime/optional-peer';
export {
  asRuntimeError,
  failedBeforeStart,
  runtimeErrorRecord,
} from '../../src/runtime/runtime-failure';
export { describeIssues, describeThrown, toolOutputText } from '../../src/runtime/tool-text';
export type { RelayMeter, RelayOptions } from '../../src/runtime/upstream-relay';
export { relayUpstream } from '../../src/runtime/upstream-relay';
export {
  applyCheckpointDelta,
  DELTA_SNAPSHOT_RATIO,
  DeltaEncoder,
  MAX_DELTAS,
  replayCheckpoint,
} from '../../src/store/checkpoint-delta';
export { listPosition, parseRunQuery, runCursor, stalenessClock } from '../../src/store/run-list';
