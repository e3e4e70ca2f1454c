// The multi-process kill scenario (fixtures/kill-scenario.ts) on the SQS queue adapter: worker
// processes SIGKILLed at random while 100 agent tasks run; none lost, none stuck, no checkpointed
// tool call repeated. The queue is SQS on fauxqs, run as its own process so that it outlives the
// killed workers; runs, events, heartbeats and checkpoints stay on the scenario's private Redis.
// Leases that die with a worker come back when their visibility timeout (1 s) ends.
import { killScenario } from './fixtures/kill-scenario';

killScenario('sqs');
