import assert from 'node:assert/strict';
import { z } from 'zod';
import type { AgentEvent } from '../agent/events';
import type { RunState } from '../agent/run-state';
import { type AnyTool, defineTool } from '../agent/tool';
import type { Runtime, RuntimeResult, RuntimeRunOptions } from '../runtime/runtime';
import type { ConformanceRunner } from './conformance/harness';
import type { ScriptedTurn } from './scripted-model';

/**
 * What the runtime under test is built on: a scripted model of its own kind answering `turn(n)`
 * for its n-th model call of the conversation (n = assistant messages already in the request,
 * 0-based, so a resumed run gets the same answers), and loopwork tools.
 */
export interface RuntimeScenario {
  /** The answer to the n-th model call of the conversation. */
  turn(n: number): ScriptedTurn;
  /** Tools to give the runtime (`defineTool`s), as its framework's tools. */
  tools: AnyTool[];
  /** The model id to report (its price is in the run's `limits.prices`). */
  modelId: 'scripted';
}

/** Options of {@link runtimeConformance}. */
export interface RuntimeConformanceOptions extends ConformanceRunner {
  /** Builds the runtime under test on a scripted model answering the scenario. */
  createRuntime(scenario: RuntimeScenario): Runtime | Promise<Runtime>;
  /** Budget-fuzz runs (random budgets and answers; none may spend past its budget). @defaultValue 30 */
  budgetRuns?: number;
}

const PRICES = { scripted: { inputPerMTok: 1_000, outputPerMTok: 4_000 } };

/** A tool that counts its executions by idempotency key. */
function counter(executions: Map<string, number>): AnyTool {
  return defineTool({
    name: 'step',
    description: 'Does step n',
    input: z.object({ n: z.number() }),
    execute: async ({ n }, { idempotencyKey }) => {
      executions.set(idempotencyKey, (executions.get(idempotencyKey) ?? 0) + 1);
      return `step ${n} done`;
    },
  });
}

/** Steps 1..`steps` each call `step` once, then the answer. */
const stepTurns =
  (steps: number, final = 'all done', delayMs = 0) =>
  (n: number): ScriptedTurn =>
    n < steps
      ? { toolCalls: [{ name: 'step', input: { n: n + 1 }, id: `t${n + 1}` }], delayMs }
      : { text: final, delayMs };

/** Runs `runtime` once, collecting its events and checkpoints. */
async function runOnce(
  runtime: Runtime,
  options: Partial<RuntimeRunOptions> & { runId: string },
): Promise<{ result: RuntimeResult; events: AgentEvent[]; checkpoints: RunState[] }> {
  const events: AgentEvent[] = [];
  const checkpoints: RunState[] = [];
  const controller = new AbortController();
  const result = await runtime.run({
    input: { prompt: 'go' },
    limits: { prices: PRICES },
    signal: controller.signal,
    emit: (event) => events.push(event),
    checkpoint: async (state) => void checkpoints.push(structuredClone(state)),
    ...options,
  });
  return { result, events, checkpoints };
}

/**
 * Registers the conformance tests of the {@link Runtime} contract: a text answer, tools, the turn
 * cap, hard budgets (a fuzz: no run spends past its budget), cancel mid-run, crash and resume
 * without repeating a checkpointed tool call, a session follow-up, and events in loopwork's terms.
 *
 * @example
 * ```ts
 * runtimeConformance({ describe, it, createRuntime: (s) => loopRuntime({ model: scripted(s), tools: s.tools }) });
 * ```
 */
export function runtimeConformance(options: RuntimeConformanceOptions): void {
  const { it } = options;
  const build = (turn: (n: number) => ScriptedTurn, tools: AnyTool[] = []) =>
    options.createRuntime({ turn, tools, modelId: 'scripted' });

  options.describe('runtime conformance (loopwork.runtime.v1)', () => {
    it('declares its contract version and a name', async () => {
      const runtime = await build(() => ({ text: 'hi' }));
      assert.equal(runtime.specificationVersion, 'loopwork.runtime.v1');
      assert.ok(runtime.name.length > 0);
    });

    it('text: completes with the final text, its usage and cost, and events in loopwork terms', async () => {
      const runtime = await build(() => ({ text: 'hello there', usage: { outputTokens: 3 } }));
      const { result, events, checkpoints } = await runOnce(runtime, { runId: 'text-1' });
      assert.equal(result.status, 'completed');
      assert.equal(result.output, 'hello there');
      assert.ok(result.usage.outputTokens >= 3, 'usage is reported');
      assert.ok(result.costUsd > 0, 'cost is priced from limits.prices');
      assert.ok(events.length > 0, 'events are emitted');
      for (const event of events)
        assert.equal(event.runId, 'text-1', `${event.type} names the run`);
      assert.ok(
        events.some((event) => event.type === 'turn-finished'),
        'a turn-finished event carries each call’s usage',
      );
      assert.equal(events.at(-1)?.type, 'run-finished');
      assert.ok(checkpoints.length > 0, 'the run is checkpointed');
      assert.equal(result.state.runId, 'text-1');
    });

    it('tools: each tool call runs once with its idempotency key; its events are mapped', async () => {
      const executions = new Map<string, number>();
      const runtime = await build(stepTurns(2), [counter(executions)]);
      const { result, events } = await runOnce(runtime, { runId: 'tools-1' });
      assert.equal(result.status, 'completed');
      assert.equal(result.output, 'all done');
      assert.deepEqual(Object.fromEntries(executions), { 'tools-1:t1': 1, 'tools-1:t2': 1 });
      const finished = events.filter((event) => event.type === 'tool-call-finished');
      assert.deepEqual(
        finished.map((event) => event.type === 'tool-call-finished' && event.output),
        ['step 1 done', 'step 2 done'],
      );
    });

    it('turn cap: maxTurns stops the run at its limit, with no further model call', async () => {
      const executions = new Map<string, number>();
      let calls = 0;
      const runtime = await build(
        (n) => {
          calls++;
          return stepTurns(100)(n);
        },
        [counter(executions)],
      );
      const { result } = await runOnce(runtime, {
        runId: 'cap-1',
        limits: { maxTurns: 2, prices: PRICES },
      });
      assert.equal(result.status, 'max_turns');
      assert.ok(calls <= 2, `${calls} model calls with maxTurns 2`);
    });

    it('hard budgets: no run spends past maxCostUsd or maxTotalTokens (fuzz)', async () => {
      let seed = 7;
      const random = () => {
        seed = (seed * 16_807) % 2_147_483_647;
        return seed / 2_147_483_647;
      };
      let overshoots = 0;
      let stopped = 0;
      const runs = options.budgetRuns ?? 30;
      for (let i = 0; i < runs; i++) {
        const maxCostUsd = 0.5 + random() * 4;
        const maxTotalTokens = 300 + Math.floor(random() * 3_000);
        const runtime = await build(
          (n) => ({
            ...stepTurns(50)(n),
            // The model writes as much as it may, or a little.
            usage: { outputTokens: random() < 0.5 ? 10_000 : 1 + Math.floor(random() * 50) },
          }),
          [counter(new Map())],
        );
        const { result } = await runOnce(runtime, {
          runId: `budget-${i}`,
          limits: { maxCostUsd, maxTotalTokens, prices: PRICES },
        });
        if (result.status === 'budget_exceeded') stopped++;
        const tokens = result.usage.inputTokens + result.usage.outputTokens;
        if (result.costUsd > maxCostUsd + 1e-9 || tokens > maxTotalTokens) overshoots++;
      }
      assert.ok(stopped > runs / 2, `budgets stopped only ${stopped} of ${runs} runs`);
      assert.equal(overshoots, 0, `${overshoots} of ${runs} runs spent past their budget`);
    });

    it('cancel: an aborted signal ends a slow run promptly as aborted', async () => {
      const runtime = await build(stepTurns(20, 'done', 200), [counter(new Map())]);
      const controller = new AbortController();
      const started = Date.now();
      setTimeout(() => controller.abort(new Error('cancelled')), 100);
      const { result } = await runOnce(runtime, { runId: 'cancel-1', signal: controller.signal });
      assert.equal(result.status, 'aborted');
      assert.ok(Date.now() - started < 10_000, 'the run ended after its signal aborted');
    });

    it('crash and resume: a run resumed from its checkpoint repeats no checkpointed tool call', async () => {
      const executions = new Map<string, number>();
      const runtime = await build(stepTurns(3), [counter(executions)]);
      const controller = new AbortController();
      const saved: RunState[] = [];
      // "Crash" once a checkpoint holds the first tool result.
      const first = await runOnce(runtime, {
        runId: 'resume-1',
        signal: controller.signal,
        checkpoint: async (state) => {
          saved.push(structuredClone(state));
          if (executions.size >= 1) controller.abort(new Error('crash'));
        },
      });
      assert.notEqual(first.result.status, 'completed', 'the first attempt was cut short');
      const last = saved.at(-1);
      assert.ok(last, 'the first attempt left a checkpoint');
      const second = await runOnce(runtime, {
        runId: 'resume-1',
        resumeFrom: { kind: 'attempt', state: last },
      });
      assert.equal(second.result.status, 'completed');
      assert.equal(second.result.output, 'all done');
      assert.equal(executions.get('resume-1:t1'), 1, 'the checkpointed call t1 did not run again');
      assert.equal(executions.get('resume-1:t3'), 1);
    });

    it('session: a follow-up continues the conversation from the previous run’s state', async () => {
      const runtime = await build((n) => ({ text: `answer ${n + 1}` }));
      const first = await runOnce(runtime, { runId: 'session-1' });
      assert.equal(first.result.output, 'answer 1');
      const next = await runOnce(runtime, {
        runId: 'session-2',
        input: { prompt: 'and then?' },
        resumeFrom: { kind: 'session', state: first.result.state },
      });
      assert.equal(next.result.status, 'completed');
      assert.equal(next.result.output, 'answer 2', 'the model saw the earlier turn');
      assert.equal(next.result.state.runId, 'session-2');
    });
  });
}
