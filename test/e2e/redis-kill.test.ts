// Promises 1 and 2 of DESIGN.md across real processes on the Redis Streams queue: a dispatcher
// process, three worker processes and a watchdog process share one private redis-server; 100 agent
// tasks run while worker processes are SIGKILLed at random (seeded) moments and replaced. The
// scenario lives in fixtures/kill-scenario.ts, shared with the other queue adapters' kill tests.
import { killScenario } from './fixtures/kill-scenario';

killScenario('redis');
