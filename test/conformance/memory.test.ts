import {
  createMemoryBlobStore,
  createMemoryEventLog,
  createMemoryHeartbeatStore,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
} from 'loopwork';
import {
  blobStoreConformance,
  eventLogConformance,
  heartbeatStoreConformance,
  lifecycleConformance,
  queueConformance,
  runStoreConformance,
  sessionStoreConformance,
} from 'loopwork/testing';
import { describe, it } from 'vitest';

// The in-memory implementations are the reference: they must pass every conformance suite.
// An adapter author's test file looks the same, with their own factory in place of ours.

queueConformance({ describe, it, createQueue: async (options) => createMemoryQueue(options) });
sessionStoreConformance({ describe, it, createStore: async () => createMemorySessionStore() });
runStoreConformance({ describe, it, createStore: async () => createMemoryRunStore() });
heartbeatStoreConformance({ describe, it, createStore: async () => createMemoryHeartbeatStore() });
eventLogConformance({ describe, it, createLog: async (options) => createMemoryEventLog(options) });
blobStoreConformance({ describe, it, createStore: async () => createMemoryBlobStore() });
lifecycleConformance({ describe, it, createQueue: async () => createMemoryQueue() });
