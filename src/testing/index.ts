/**
 * Test helpers for applications and adapter authors: `import { ScriptedModel } from 'loopwork/testing'`,
 * and the conformance suites a queue or store adapter proves itself with
 * (`queueConformance({ describe, it, createQueue })`, one suite per store contract).
 *
 * @packageDocumentation
 */
export type { BlobStoreConformanceOptions } from './conformance/blob-store-conformance';
export { blobStoreConformance } from './conformance/blob-store-conformance';
export type { EventLogConformanceOptions } from './conformance/event-log-conformance';
export { eventLogConformance } from './conformance/event-log-conformance';
export type { ConformanceRunner, ConformanceTiming } from './conformance/harness';
export type { HeartbeatStoreConformanceOptions } from './conformance/heartbeat-store-conformance';
export { heartbeatStoreConformance } from './conformance/heartbeat-store-conformance';
export type {
  JointStepsConformanceOptions,
  JointStepsSubject,
} from './conformance/joint-steps-conformance';
export { jointStepsConformance } from './conformance/joint-steps-conformance';
export type { LifecycleConformanceOptions } from './conformance/lifecycle-conformance';
export { lifecycleConformance } from './conformance/lifecycle-conformance';
export type { QueueConformanceOptions } from './conformance/queue-conformance';
export { queueConformance } from './conformance/queue-conformance';
export type { QueueFactoryOptions } from './conformance/queue-harness';
export type { RunStoreConformanceOptions } from './conformance/run-store-conformance';
export { runStoreConformance } from './conformance/run-store-conformance';
export type { SessionStoreConformanceOptions } from './conformance/session-store-conformance';
export { sessionStoreConformance } from './conformance/session-store-conformance';
export type { ModelConformanceOptions, ModelScenario } from './model-conformance';
export { MODEL_SCENARIOS, modelAdapterConformance } from './model-conformance';
export type { RuntimeConformanceOptions, RuntimeScenario } from './runtime-conformance';
export { runtimeConformance } from './runtime-conformance';
export type { ScriptedModelOptions, ScriptedTurn } from './scripted-model';
export { ScriptedModel } from './scripted-model';
