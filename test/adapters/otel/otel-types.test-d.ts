import type {
  AgentOptions,
  AgentTaskSettings,
  AttemptEnd,
  DispatcherOptions,
  Instrumentation,
  ModelResponse,
  RunResult,
  ToolCallEnd,
  TraceCarrier,
  WorkerOptions,
} from 'loopwork';
import { otelInstrumentation } from 'loopwork/otel';
import { describe, expectTypeOf, it } from 'vitest';

describe('instrumentation types', () => {
  it('otelInstrumentation resolves with an Instrumentation every entry point takes', () => {
    expectTypeOf(otelInstrumentation).returns.resolves.toEqualTypeOf<Instrumentation>();
    expectTypeOf<Instrumentation>().toMatchTypeOf<NonNullable<AgentOptions['instrumentation']>>();
    expectTypeOf<Instrumentation>().toMatchTypeOf<
      NonNullable<AgentTaskSettings['instrumentation']>
    >();
    expectTypeOf<Instrumentation>().toMatchTypeOf<NonNullable<WorkerOptions['instrumentation']>>();
    expectTypeOf<Instrumentation>().toMatchTypeOf<
      NonNullable<DispatcherOptions['instrumentation']>
    >();
  });

  it('each wrapper returns what the work it wraps returns', () => {
    type Member<Name extends keyof Instrumentation> = NonNullable<Instrumentation[Name]>;
    expectTypeOf<ReturnType<Member<'agentRun'>>>().toEqualTypeOf<Promise<RunResult>>();
    expectTypeOf<ReturnType<Member<'modelCall'>>>().toEqualTypeOf<Promise<ModelResponse>>();
    expectTypeOf<ReturnType<Member<'toolCall'>>>().toEqualTypeOf<Promise<ToolCallEnd>>();
    expectTypeOf<ReturnType<Member<'attempt'>>>().toEqualTypeOf<Promise<AttemptEnd>>();
    expectTypeOf<Parameters<Parameters<Member<'dispatch'>>[1]>[0]>().toEqualTypeOf<
      TraceCarrier | undefined
    >();
  });

  it('a partial instrumentation (one member) is an Instrumentation', () => {
    expectTypeOf({
      specificationVersion: 'loopwork.instrumentation.v1' as const,
      modelCall: (_info: unknown, execute: () => Promise<ModelResponse>) => execute(),
    }).toMatchTypeOf<Instrumentation>();
  });
});
