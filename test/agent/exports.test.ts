// The public runtime surface, spelled out: changing it must be a deliberate edit of this list.
// (Type-only exports vanish at runtime; the type tests and `tsc` cover those.)
import * as loopwork from 'loopwork';
import * as kit from 'loopwork/adapter-kit';
import * as testing from 'loopwork/testing';
import { expect, it } from 'vitest';

const LOOPWORK = [
  // agent
  'AGENT_DEFAULTS',
  'AgentRun',
  'FINAL_ANSWER_TOOL',
  'RUN_STATE_SCHEMA_VERSION',
  'defineTool',
  'estimateInputTokens',
  'jsonSchema',
  'jsonSchemaTool',
  'parseRunState',
  'runAgent',
  'streamAgent',
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
  'restoreGitWorkdir',
  'textOf',
  'toolCallsOf',
  'totalTokens',
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
  'loopRuntime',
  'runtimeTask',
  // store (the list helpers are for store adapters: one cursor format everywhere)
  'STORE_DEFAULTS',
  'EVENT_LOG_DEFAULTS',
  'createEventEncoder',
  'compareEventIds',
  // delta checkpoints, for session-store adapters
  // stream
  'SSE_DEFAULTS',
  'createSseHandler',
  'formatSseEvent',
  // viewer: the run viewer's handler, and transcripts read from event logs (also used by the CLI)
  'VIEWER_CSP',
  'addToTranscript',
  'createRunViewer',
  'emptyTranscript',
  'toTranscript',
  'usageTokens',
];

const TESTING = [
  'MODEL_SCENARIOS',
  'ScriptedModel',
  'blobStoreConformance',
  'eventLogConformance',
  'heartbeatStoreConformance',
  'jointStepsConformance',
  'lifecycleConformance',
  'modelAdapterConformance',
  'queueConformance',
  'runStoreConformance',
  'runtimeConformance',
  'sessionStoreConformance',
];

// For writing adapters and runtimes; kept out of the root, which holds what applications use.
const ADAPTER_KIT = [
  'DELTA_SNAPSHOT_RATIO',
  'DeltaEncoder',
  'MAX_DELTAS',
  'applyCheckpointDelta',
  'asRuntimeError',
  'assertDeadLetterRef',
  'budgetsToWarn',
  'createBudgetLedger',
  'describeIssues',
  'describeThrown',
  'failedBeforeStart',
  'importOptionalPeer',
  'listPosition',
  'outputAllowance',
  'parseEnvelope',
  'parseRunQuery',
  'ratesFor',
  'relayUpstream',
  'replayCheckpoint',
  'runCursor',
  'runtimeErrorRecord',
  'stalenessClock',
  'toolOutputText',
  'turnLimitReached',
  'worstCaseInputPerToken',
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

it("'loopwork/adapter-kit' exports exactly the listed names, none of them from the root", () => {
  expect(sorted(Object.keys(kit))).toEqual(sorted(ADAPTER_KIT));
  for (const name of ADAPTER_KIT) expect(Object.keys(loopwork), name).not.toContain(name);
});

it('the main entry does not re-export the testing helpers', () => {
  expect(Object.keys(loopwork)).not.toContain('ScriptedModel');
});
