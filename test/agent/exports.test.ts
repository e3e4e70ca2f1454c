// The public runtime surface, spelled out: changing it must be a deliberate edit of this list.
// (Type-only exports vanish at runtime; the type tests and `tsc` cover those.)
import * as loopwork from 'loopwork';
import * as testing from 'loopwork/testing';
import { expect, it } from 'vitest';

const LOOPWORK = [
  // agent
  'AGENT_DEFAULTS',
  'AgentRun',
  'FINAL_ANSWER_TOOL',
  'RUN_STATE_SCHEMA_VERSION',
  'budgetsToWarn',
  'defineTool',
  'estimateInputTokens',
  'outputAllowance',
  'parseRunState',
  'runAgent',
  'streamAgent',
  'turnLimitReached',
  // errors
  'ConflictError',
  'InvalidOptionError',
  'InvalidPayloadError',
  'InvalidStateError',
  'LeaseLostError',
  'LoopworkError',
  'OutputValidationError',
  // secrets
  'DEFAULT_SECRET_PATTERNS',
  'SECRET_ENV_VARS',
  'createRedactor',
  // model
  'ModelError',
  'addUsage',
  'costOf',
  'defaultPrices',
  'emptyUsage',
  'findPrice',
  'modelErrorKindFromStatus',
  'parseRetryAfter',
  'persistGitWorkdir',
  'promptTokens',
  'ratesFor',
  'restoreGitWorkdir',
  'textOf',
  'toolCallsOf',
  'totalTokens',
  'worstCaseInputPerToken',
  // memory
  'createMemoryBlobStore',
  'createMemoryEventLog',
  'createMemoryHeartbeatStore',
  'createMemoryQueue',
  'createMemoryRunStore',
  'createMemorySessionStore',
  // queue
  'JOB_EXIT_CODES',
  'agentTask',
  'createDispatcher',
  'createWatchdog',
  'createWorker',
  'defineTask',
  'handleTask',
  'parseEnvelope',
  'parsePayload',
  'stopOnSignals',
  'outcome',
  'isOutcome',
  'DISPATCHER_DEFAULTS',
  'TASK_DEFAULTS',
  'WATCHDOG_DEFAULTS',
  'WORKER_DEFAULTS',
  // run lifecycle: the one module that decides a run's fate (for custom workers and tools)
  'FINAL_STATUSES',
  'TRANSITIONS',
  'classifyDelivery',
  'isFinal',
  'judgeCancel',
  'judgeStuck',
  'mayRetry',
  'settleAttempt',
  // runtimes
  'BudgetStop',
  'createBudgetLedger',
  'loopRuntime',
  'runtimeTask',
  'describeIssues',
  'describeThrown',
  'toolOutputText',
  'asRuntimeError',
  'failedBeforeStart',
  'runtimeErrorRecord',
  'importOptionalPeer',
  // store (the list helpers are for store adapters: one cursor format everywhere)
  'STORE_DEFAULTS',
  'EVENT_LOG_DEFAULTS',
  'createEventEncoder',
  'compareEventIds',
  'listPosition',
  'parseRunQuery',
  'runCursor',
  'stalenessClock',
  // delta checkpoints, for session-store adapters
  'DeltaEncoder',
  'applyCheckpointDelta',
  'replayCheckpoint',
  'DELTA_SNAPSHOT_RATIO',
  'MAX_DELTAS',
  // stream
  'SSE_DEFAULTS',
  'createSseHandler',
  'formatSseEvent',
];

const TESTING = [
  'MODEL_SCENARIOS',
  'ScriptedModel',
  'blobStoreConformance',
  'eventLogConformance',
  'heartbeatStoreConformance',
  'lifecycleConformance',
  'modelAdapterConformance',
  'queueConformance',
  'runStoreConformance',
  'runtimeConformance',
  'sessionStoreConformance',
];

const sorted = (names: readonly string[]) => [...names].sort();

it("'loopwork' exports exactly the listed names", () => {
  expect(sorted(Object.keys(loopwork))).toEqual(sorted(LOOPWORK));
  for (const [name, value] of Object.entries(loopwork)) expect(value, name).toBeDefined();
});

it("'loopwork/testing' exports exactly the listed names", () => {
  expect(sorted(Object.keys(testing))).toEqual(sorted(TESTING));
  for (const [name, value] of Object.entries(testing)) expect(value, name).toBeDefined();
});

it('the main entry does not re-export the testing helpers', () => {
  expect(Object.keys(loopwork)).not.toContain('ScriptedModel');
});
