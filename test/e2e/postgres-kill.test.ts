// The multi-process kill scenario (fixtures/kill-scenario.ts) on the Postgres queue: worker
// processes SIGKILLed at random while 100 agent tasks run; none lost, none stuck, no checkpointed
// tool call repeated. The queue lives in a fresh schema of the test's Postgres; runs, events,
// heartbeats and checkpoints stay on the scenario's private Redis. A killed worker's messages come
// back when their lease (extended every third of it while the worker lived) runs out.
import { killScenario } from './fixtures/kill-scenario';

killScenario('postgres');
