import {
  type AgentEvent,
  type AgentOptions,
  type AgentRun,
  type BudgetName,
  defineTool,
  type RunResult,
  type RunStatus,
  runAgent,
  streamAgent,
  type Tool,
  type ToolCallDecision,
  type ToolContext,
  type ToolFailureReason,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { z as z3 } from 'zod/v3';

describe('defineTool', () => {
  it('infers execute’s input from a zod 4 schema (output side: defaults applied)', () => {
    const tool = defineTool({
      name: 'weather',
      description: 'd',
      input: z.object({
        city: z.string(),
        days: z.number().int().optional(),
        unit: z.enum(['c', 'f']).default('c'),
        tags: z.array(z.string()),
      }),
      execute: (input, context) => {
        expectTypeOf(input).toEqualTypeOf<{
          city: string;
          days?: number | undefined;
          unit: 'c' | 'f';
          tags: string[];
        }>();
        expectTypeOf(context).toEqualTypeOf<ToolContext>();
        expectTypeOf(context.idempotencyKey).toBeString();
        expectTypeOf(context.signal).toEqualTypeOf<AbortSignal>();
        expectTypeOf(context.suspend).returns.toBeNever();
        // @ts-expect-error: not a field of the schema
        input.country;
        return input.city;
      },
    });
    expectTypeOf(tool).toEqualTypeOf<
      Tool<{ city: string; days?: number | undefined; unit: 'c' | 'f'; tags: string[] }>
    >();
  });

  it('infers execute’s input from a zod 3 schema', () => {
    defineTool({
      name: 'search',
      description: 'd',
      input: z3.object({ query: z3.string(), limit: z3.number().optional() }),
      execute: (input) => {
        expectTypeOf(input).toEqualTypeOf<{ query: string; limit?: number | undefined }>();
      },
    });
  });

  it('refuses an execute whose input does not match the schema', () => {
    defineTool({
      name: 'bad',
      description: 'd',
      input: z.object({ n: z.number() }),
      // @ts-expect-error: n is a number, not a string
      execute: (input: { n: string }) => input.n,
    });
  });

  it('tools of different input types go in one list', () => {
    const a = defineTool({
      name: 'a',
      description: 'd',
      input: z.object({ x: z.number() }),
      execute: () => 1,
    });
    const b = defineTool({
      name: 'b',
      description: 'd',
      input: z3.object({ y: z3.string() }),
      execute: () => 2,
    });
    const options: AgentOptions = {
      model: new ScriptedModel({ turns: [] }),
      prompt: 'hi',
      tools: [a, b],
    };
    expectTypeOf(options.tools).toExtend<readonly Tool<any>[] | undefined>();
  });
});

describe('events', () => {
  it('AgentEvent narrows by type', () => {
    const handle = (event: AgentEvent) => {
      if (event.type === 'tool-call-failed') {
        expectTypeOf(event.reason).toEqualTypeOf<ToolFailureReason>();
        expectTypeOf(event.message).toBeString();
      } else if (event.type === 'budget-warning') {
        expectTypeOf(event.budget).toEqualTypeOf<BudgetName>();
      } else if (event.type === 'run-finished') {
        expectTypeOf(event.status).toEqualTypeOf<RunStatus>();
      } else if (event.type === 'text-delta') {
        expectTypeOf(event.text).toBeString();
        // @ts-expect-error: only tool events have a toolName
        event.toolName;
      }
    };
    expectTypeOf(handle).parameter(0).toEqualTypeOf<AgentEvent>();
    expectTypeOf<ToolFailureReason>().toEqualTypeOf<
      'unknown_tool' | 'invalid_input' | 'denied' | 'threw' | 'timeout'
    >();
  });

  it('AgentRun.on gives each listener its narrowed event', () => {
    const run = streamAgent({ model: new ScriptedModel({ turns: [] }), prompt: 'hi' });
    expectTypeOf(run).toEqualTypeOf<AgentRun>();
    run.on('tool-call-finished', (event) => {
      expectTypeOf(event).toEqualTypeOf<Extract<AgentEvent, { type: 'tool-call-finished' }>>();
      expectTypeOf(event.output).toBeString();
      expectTypeOf(event.durationMs).toBeNumber();
    });
    run.on('model-retry', (event) => {
      expectTypeOf(event.delayMs).toBeNumber();
    });
    run.on('event', (event) => {
      expectTypeOf(event).toEqualTypeOf<AgentEvent>();
    });
    // @ts-expect-error: no such event
    run.on('tool-call-exploded', () => {});
    expectTypeOf(run[Symbol.asyncIterator]).returns.toEqualTypeOf<AsyncIterator<AgentEvent>>();
    expectTypeOf(run.result).toEqualTypeOf<Promise<RunResult>>();
  });
});

describe('results and hooks', () => {
  it('RunResult.status is every status except running', () => {
    expectTypeOf<RunResult['status']>().toEqualTypeOf<
      'completed' | 'max_turns' | 'budget_exceeded' | 'timeout' | 'aborted' | 'suspended' | 'failed'
    >();
    expectTypeOf<RunResult['budget']>().toEqualTypeOf<BudgetName | undefined>();
    expectTypeOf(runAgent).returns.toEqualTypeOf<Promise<RunResult>>();
  });

  it('a beforeToolCall decision is allow, deny with a message, or rewrite', () => {
    expectTypeOf<{ action: 'deny'; message: string }>().toExtend<ToolCallDecision>();
    expectTypeOf<{ action: 'rewrite'; input: unknown }>().toExtend<ToolCallDecision>();
    expectTypeOf<{ action: 'allow' }>().toExtend<ToolCallDecision>();
    expectTypeOf<{ action: 'deny' }>().not.toExtend<ToolCallDecision>();
    expectTypeOf<{ action: 'skip' }>().not.toExtend<ToolCallDecision>();
  });
});
