import assert from 'node:assert/strict';
import {
  createMemoryEventLog,
  createMemoryHeartbeatStore,
  createMemoryQueue,
  createMemoryRunStore,
  createMemorySessionStore,
  loopRuntime,
  type Queue,
  type QueueRunSteps,
  type RunRecordStatus,
  type RunStore,
} from 'loopwork';
import {
  type ConformanceRunner,
  eventLogConformance,
  heartbeatStoreConformance,
  jointStepsConformance,
  lifecycleConformance,
  queueConformance,
  runStoreConformance,
  runtimeConformance,
  ScriptedModel,
  sessionStoreConformance,
} from 'loopwork/testing';
import { describe, it } from 'vitest';
import { separateCallSteps } from '../helpers/joint-steps';

// A suite that passes everything proves nothing. Each case breaks one behaviour of a memory
// implementation and checks that the conformance test meant to guard it fails (with an
// assertion, not a crash) while the same test passes on the unbroken implementation.

type TestFn = (...context: unknown[]) => Promise<void>;

/** Runs a suite's registration with a fake runner that only collects the tests by name. */
function collect(register: (runner: ConformanceRunner) => void): Map<string, TestFn> {
  const tests = new Map<string, TestFn>();
  register({ describe: (_name, fn) => fn(), it: (name, fn) => void tests.set(name, fn) });
  return tests;
}

const ALL: RunRecordStatus[] = [
  'queued',
  'running',
  'completed',
  'max_turns',
  'budget_exceeded',
  'waiting_input',
  'failed',
  'timed_out',
  'cancelled',
  'dead_lettered',
];

const queueCase =
  (breakQueue: (queue: Queue) => Queue) => (runner: ConformanceRunner, broken: boolean) =>
    queueConformance({
      ...runner,
      createQueue: async (options) => {
        const queue = createMemoryQueue(options);
        return broken ? breakQueue(queue) : queue;
      },
    });

/**
 * Joint steps made of the separate calls (a reference that is right but not atomic), on the
 * memory queue and run store; `broken` swaps one step for a wrong one.
 */
const jointCase =
  (breakSteps: (steps: QueueRunSteps, queue: Queue, runs: RunStore) => QueueRunSteps) =>
  (runner: ConformanceRunner, broken: boolean) =>
    jointStepsConformance({
      ...runner,
      create: async () => {
        const queue = createMemoryQueue();
        const runs = createMemoryRunStore();
        const steps = separateCallSteps(queue, runs);
        const offered = broken ? breakSteps(steps, queue, runs) : steps;
        return { queue: { ...queue, jointWith: () => offered }, runs };
      },
    });

const cases: Array<{
  breaks: string;
  caughtBy: string[];
  register: (runner: ConformanceRunner, broken: boolean) => void;
}> = [
  {
    breaks: 'a joint final write acks though the write did not apply',
    caughtBy: ['transitionAndAck: a write that does not apply does nothing else'],
    register: jointCase((steps, queue) => ({
      ...steps,
      async transitionAndAck(record, transition, message) {
        await queue.ack(message);
        return steps.transitionAndAck(record, transition, message);
      },
    })),
  },
  {
    breaks: 'a joint final write answers the caller’s record without checking it is the stored one',
    caughtBy: [
      'transitionAndAck: a caller record behind the store, or a write on no version, answers the record as stored',
    ],
    register: jointCase((steps) => ({
      ...steps,
      async transitionAndAck(record, transition, message) {
        const written = await steps.transitionAndAck(record, transition, message);
        return (
          written && {
            ...record,
            ...transition.set,
            status: transition.to,
            version: written.version,
            updatedAt: written.updatedAt,
          }
        );
      },
    })),
  },
  {
    breaks: 'a joint dispatch enqueues a run that already exists',
    caughtBy: ['createAndEnqueue: record and message; a run that exists gets neither again'],
    register: jointCase((steps, queue, runs) => ({
      ...steps,
      async createAndEnqueue(record, name, body, options) {
        const sent = await queue.enqueue(name, body, options);
        await runs.create(record);
        return sent;
      },
    })),
  },
  {
    breaks: 'the queue ignores priority',
    caughtBy: ['priority: high before normal before low, FIFO within a level'],
    register: queueCase((q) => ({
      ...q,
      enqueue: (name, body, { priority: _ignored, ...rest } = {}) => q.enqueue(name, body, rest),
    })),
  },
  {
    breaks: 'leases never expire',
    caughtBy: ['lease expiry: redelivered with deliveryCount 2 and a new receipt'],
    register: queueCase((q) => ({
      ...q,
      claim: (queues, options) => q.claim(queues, { ...options, leaseMs: 3_600_000 }),
    })),
  },
  {
    breaks: 'ack is a no-op',
    caughtBy: ['ack removes: an acked message is not delivered again, even after its lease'],
    register: queueCase((q) => ({ ...q, ack: async () => {} })),
  },
  {
    breaks: 'dedupe ids are ignored',
    caughtBy: [
      'dedupe: a second enqueue while the first is queued or leased is a no-op; after ack it is new',
    ],
    register: queueCase((q) => ({
      ...q,
      enqueue: (name, body, { dedupeId: _ignored, ...rest } = {}) => q.enqueue(name, body, rest),
    })),
  },
  {
    breaks: 'extend is a no-op',
    caughtBy: ['extend keeps a lease alive past its original expiry'],
    register: queueCase((q) => ({ ...q, extend: async () => {} })),
  },
  {
    breaks: 'extendMany answers true for every message, renewing none',
    caughtBy: [
      'extendMany (optional): renews each held lease, of any queue; false, in its place, for a lost one',
    ],
    register: queueCase((q) => ({
      ...q,
      extendMany: async (messages) => messages.map(() => true),
    })),
  },
  {
    breaks: 'extendMany answers in another order',
    caughtBy: [
      'extendMany (optional): renews each held lease, of any queue; false, in its place, for a lost one',
    ],
    register: queueCase((q) => ({
      ...q,
      extendMany: async (messages, leaseMs) =>
        (await q.extendMany!([...messages].reverse(), leaseMs)).reverse().sort(),
    })),
  },
  {
    breaks: 'the queue dead-letters without telling onDeadLetter',
    caughtBy: [
      'claim maxDeliveries: dead-letters on the 3rd delivery of 2, telling onDeadLetter first',
    ],
    register: queueCase((q) => ({
      ...q,
      claim: (queues, { onDeadLetter: _ignored, ...rest }) => q.claim(queues, rest),
    })),
  },
  {
    breaks: 'removeDeadLetter resolves true even when there was no such letter',
    caughtBy: [
      'removeDeadLetter (optional): takes one letter out for good; again, or an unknown id, is false',
    ],
    register: queueCase((q) => ({
      ...q,
      removeDeadLetter: async (name, id) => {
        await q.removeDeadLetter?.(name, id);
        return true;
      },
    })),
  },
  {
    breaks: 'claims drain the first queue before looking at the next',
    caughtBy: ['a claim over several queues does not starve one while another stays full'],
    register: queueCase((q) => ({
      ...q,
      claim: async (queues, options) => {
        for (const name of queues) {
          const got = await q.claim([name], { ...options, waitMs: 0 });
          if (got.length > 0) return got;
        }
        return q.claim(queues, options);
      },
    })),
  },
  {
    breaks: 'session save ignores expectedVersion',
    caughtBy: ['a stale save rejects with ConflictError and changes nothing'],
    register: (runner, broken) =>
      sessionStoreConformance({
        ...runner,
        createStore: async () => {
          const store = createMemorySessionStore();
          if (!broken) return store;
          return {
            ...store,
            save: async (key, state) =>
              store.save(key, state, (await store.load(key))?.version ?? null),
          };
        },
      }),
  },
  {
    breaks: 'event log read after an id returns everything',
    caughtBy: ['read after an id returns exactly the later events, in order'],
    register: (runner, broken) =>
      eventLogConformance({
        ...runner,
        createLog: async () => {
          const log = createMemoryEventLog();
          if (!broken) return log;
          return {
            ...log,
            read: (runId, { after: _ignored, ...rest } = {}) => log.read(runId, rest),
          };
        },
      }),
  },
  {
    breaks: 'the event log ignores maxEventBytes',
    caughtBy: [
      'an event over maxEventBytes is stored as an event-too-large placeholder, in its place',
    ],
    register: (runner, broken) =>
      eventLogConformance({
        ...runner,
        createLog: async (options) => createMemoryEventLog(broken ? {} : options),
      }),
  },
  {
    breaks: 'the heartbeat store’s beatMany keeps one data for all its beats',
    caughtBy: [
      'beatMany (optional): each key beaten with its own data, listed, and gone after the TTL',
    ],
    register: (runner, broken) =>
      heartbeatStoreConformance({
        ...runner,
        createStore: async () => {
          const store = createMemoryHeartbeatStore();
          if (!broken) return store;
          return {
            ...store,
            beatMany: (beats, ttlMs) =>
              store.beatMany!(
                beats.map(({ key }) => ({ key, data: beats[0]?.data ?? {} })),
                ttlMs,
              ),
          };
        },
      }),
  },
  {
    breaks: 'the run store’s getStandings leaves out the runs it does not find',
    caughtBy: [
      'getStandings (optional): status, attempt and cancel of each run, in order; undefined for none',
    ],
    register: (runner, broken) =>
      runStoreConformance({
        ...runner,
        createStore: async () => {
          const runs = createMemoryRunStore();
          if (!broken) return runs;
          return {
            ...runs,
            getStandings: async (ids) =>
              (await runs.getStandings!([...ids].reverse())).reverse().filter(Boolean),
          };
        },
      }),
  },
  {
    breaks: 'run-store transition ignores `from`',
    caughtBy: ['transition from a status the run is not in resolves undefined and changes nothing'],
    register: (runner, broken) =>
      runStoreConformance({
        ...runner,
        createStore: async () => {
          const runs = createMemoryRunStore();
          if (!broken) return runs;
          return { ...runs, transition: (id, t) => runs.transition(id, { ...t, from: ALL }) };
        },
      }),
  },
  {
    breaks: 'run-store transition ignores `version`',
    caughtBy: [
      'transition with a version applies only at that version',
      'concurrent transitions at one version: exactly one wins',
    ],
    register: (runner, broken) =>
      runStoreConformance({
        ...runner,
        createStore: async () => {
          const runs = createMemoryRunStore();
          if (!broken) return runs;
          return {
            ...runs,
            transition: (id, { version: _ignored, ...rest }) => runs.transition(id, rest),
          };
        },
      }),
  },
  {
    breaks: 'run-store list ignores the cursor',
    caughtBy: ['list: newest first by queuedAt, filtered by task type and group, paged by cursor'],
    register: (runner, broken) =>
      runStoreConformance({
        ...runner,
        createStore: async () => {
          const runs = createMemoryRunStore();
          if (!broken) return runs;
          return { ...runs, list: ({ cursor: _ignored, ...rest } = {}) => runs.list(rest) };
        },
      }),
  },
  {
    breaks: 'the queue dead-letters past maxDeliveries without telling the worker',
    caughtBy: [
      'a message past its deliveries ends its run dead_lettered, with the letter’s reason',
    ],
    register: (runner, broken) =>
      lifecycleConformance({
        ...runner,
        createQueue: async () => {
          const queue = createMemoryQueue();
          if (!broken) return queue;
          return {
            ...queue,
            claim: (queues, { onDeadLetter: _ignored, ...rest }) => queue.claim(queues, rest),
          };
        },
      }),
  },
  {
    breaks: 'the run store loses result fields',
    caughtBy: ['results: a handler’s output, usage and cost land on the run record'],
    register: (runner, broken) =>
      lifecycleConformance({
        ...runner,
        createQueue: async () => createMemoryQueue(),
        createRunStore: async () => {
          const runs = createMemoryRunStore();
          if (!broken) return runs;
          return {
            ...runs,
            transition: (id, { set: { output: _dropped, ...set } = {}, ...rest }) =>
              runs.transition(id, { ...rest, set }),
          };
        },
      }),
  },
  {
    breaks: 'the runtime ignores its limits',
    caughtBy: [
      'turn cap: maxTurns stops the run at its limit, with no further model call',
      'hard budgets: no run spends past maxCostUsd or maxTotalTokens (fuzz)',
    ],
    register: (runner, broken) =>
      runtimeConformance({
        ...runner,
        budgetRuns: 8,
        createRuntime: (scenario) => {
          const runtime = loopRuntime({
            model: new ScriptedModel({
              turns: (request) =>
                scenario.turn(request.messages.filter((m) => m.role === 'assistant').length),
            }),
            tools: scenario.tools,
            minTokensPerCall: 16,
          });
          if (!broken) return runtime;
          return {
            ...runtime,
            run: (options) =>
              runtime.run({ ...options, limits: { prices: options.limits.prices } }),
          };
        },
      }),
  },
];

describe('the conformance suites fail on broken implementations', () => {
  for (const { breaks, caughtBy, register } of cases) {
    it(`when ${breaks}`, async () => {
      const sound = collect((runner) => register(runner, false));
      const broken = collect((runner) => register(runner, true));
      for (const name of caughtBy) {
        const [onSound, onBroken] = [sound.get(name), broken.get(name)];
        assert.ok(onSound && onBroken, `no conformance test is named "${name}"`);
        await onSound();
        await assert.rejects(
          onBroken(),
          assert.AssertionError,
          `"${name}" passed although ${breaks}`,
        );
      }
    });
  }
});
