export type { MemoryQueueOptions } from './memory-queue';
export { createMemoryQueue } from './memory-queue';
export { createMemorySessionStore } from './memory-session-store';
export type { MemoryEventLogOptions } from './memory-stores';
export {
  createMemoryBlobStore,
  createMemoryEventLog,
  createMemoryHeartbeatStore,
  createMemoryRunStore,
} from './memory-stores';
