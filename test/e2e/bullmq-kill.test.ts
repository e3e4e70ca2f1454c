// The multi-process kill scenario (fixtures/kill-scenario.ts) on the BullMQ queue adapter: worker
// processes SIGKILLed at random while 100 agent tasks run; none lost, none stuck, no checkpointed
// tool call repeated. Leases that die with a worker come back through BullMQ's stalled-job check.
import { killScenario } from './fixtures/kill-scenario';

killScenario('bullmq');
