import {
  type AgentEvent,
  type AgentRun,
  agentTask,
  createMemorySessionStore,
  type RunResult,
  runAgent,
  streamAgent,
  type TaskHandler,
} from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';

const model = new ScriptedModel({ turns: [] });
const Weather = z.object({
  city: z.string(),
  celsius: z.number(),
  unit: z.enum(['c', 'f']).default('c'),
  tags: z.array(z.string()).optional(),
});
type WeatherOut = { city: string; celsius: number; unit: 'c' | 'f'; tags?: string[] | undefined };

describe('output', () => {
  it('runAgent infers result.output from the schema (its output side)', async () => {
    const result = await runAgent({ model, prompt: 'hi', output: Weather });
    expectTypeOf(result).toEqualTypeOf<RunResult<WeatherOut>>();
    expectTypeOf(result.output).toEqualTypeOf<WeatherOut | undefined>();
    if (result.output) {
      expectTypeOf(result.output.unit).toEqualTypeOf<'c' | 'f'>();
      // @ts-expect-error: not a field of the schema
      result.output.country;
    }
  });

  it('transforms type the output as the schema outputs it', async () => {
    const result = await runAgent({
      model,
      prompt: 'hi',
      output: z.object({ n: z.string().transform((s) => s.length) }),
    });
    expectTypeOf(result.output).toEqualTypeOf<{ n: number } | undefined>();
  });

  it('without output the result is the plain RunResult', async () => {
    const result = await runAgent({ model, prompt: 'hi' });
    expectTypeOf(result).toEqualTypeOf<RunResult>();
    expectTypeOf(result.output).toEqualTypeOf<unknown>();
  });

  it('streamAgent carries the type to its result', () => {
    const run = streamAgent({ model, prompt: 'hi', output: Weather });
    expectTypeOf(run).toEqualTypeOf<AgentRun<WeatherOut>>();
    expectTypeOf(run.result).toEqualTypeOf<Promise<RunResult<WeatherOut>>>();
  });

  it('outputMode and maxOutputRetries are checked', () => {
    runAgent({ model, prompt: 'hi', output: Weather, outputMode: 'tool', maxOutputRetries: 1 });
    // @ts-expect-error: not a mode
    runAgent({ model, prompt: 'hi', output: Weather, outputMode: 'json' });
  });

  it('output-rejected is an event with its message', () => {
    const handle = (event: AgentEvent) => {
      if (event.type === 'output-rejected') {
        expectTypeOf(event.message).toBeString();
        expectTypeOf(event.refused).toBeNumber();
      }
    };
    expectTypeOf(handle).parameter(0).toEqualTypeOf<AgentEvent>();
  });

  it('agentTask with output types its handler’s output; without it, text', () => {
    const checkpoints = createMemorySessionStore();
    const typed = agentTask({ type: 'weather', checkpoints, agent: { model }, output: Weather });
    expectTypeOf(typed.handler).toEqualTypeOf<
      TaskHandler<
        {
          prompt?: string | undefined;
          sessionId?: string | undefined;
          answers?: Record<string, unknown> | undefined;
        },
        WeatherOut
      >
    >();
    const text = agentTask({ type: 'chat', checkpoints, agent: { model } });
    expectTypeOf(text.handler.run).returns.resolves.toExtend<unknown>();
    expectTypeOf<Awaited<ReturnType<typeof text.handler.run>>>().toExtend<string | object>();
  });
});
