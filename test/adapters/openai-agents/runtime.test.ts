// openAIAgentsRuntime beyond the conformance suite: its events in loopwork's terms, tool
// failures, an agent of the user's own with an SDK tool, budget truncation, failure paths
// (a model that throws a non-Error, a tool that hangs and ignores its signal, cancel mid-run),
// and the runs it refuses.
import { Agent, type Model, tool } from '@openai/agents';
import {
  type AgentEvent,
  defineTool,
  type ModelRequest,
  type RunState,
  type Runtime,
  type RuntimeRunOptions,
} from 'loopwork';
import { openAIAgentsRuntime, scriptedAgentsModel } from 'loopwork/openai-agents';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const PRICES = { scripted: { inputPerMTok: 3, outputPerMTok: 15 } };

async function run(runtime: Runtime, options: Partial<RuntimeRunOptions> = {}) {
  const events: AgentEvent[] = [];
  const checkpoints: RunState[] = [];
  const result = await runtime.run({
    runId: 'r1',
    input: { prompt: 'go' },
    limits: { prices: PRICES },
    signal: new AbortController().signal,
    emit: (event) => events.push(event),
    checkpoint: async (state) => void checkpoints.push(structuredClone(state)),
    ...options,
  });
  return { result, events, checkpoints };
}

const lastTool = (request: ModelRequest) => {
  const last = request.messages.at(-1);
  return last?.role === 'tool' ? last.content : undefined;
};

/** Answers with the tool results it read, else calls the tool `name` with `input`. */
const callThenReport = (name: string, input: unknown) => (request: ModelRequest) => {
  const results = lastTool(request);
  return results
    ? { text: `results: ${results.map((r) => `${r.toolName}=${r.output}`).join(', ')}` }
    : { toolCalls: [{ id: 'c1', name, input }] };
};

describe('openAIAgentsRuntime', () => {
  it('maps the SDK stream to loopwork events: turns with usage, text deltas, tool calls, run-finished', async () => {
    const echo = defineTool({
      name: 'echo',
      description: 'Echoes',
      input: z.object({ text: z.string() }),
      execute: ({ text }) => `echo: ${text}`,
    });
    const model = scriptedAgentsModel({
      turns: (request) =>
        lastTool(request)
          ? { chunks: ['All ', 'done.'], usage: { inputTokens: 40, outputTokens: 3 } }
          : {
              toolCalls: [{ id: 'e1', name: 'echo', input: { text: 'hi' } }],
              usage: { inputTokens: 30, outputTokens: 9 },
            },
    });
    const { result, events } = await run(
      openAIAgentsRuntime({ model, tools: [echo], maxTokensPerCall: 500 }),
    );
    expect(result.status).toBe('completed');
    expect(result.output).toBe('All done.');
    const shown = events.map((event) => {
      const { runId, ...rest } = event;
      expect(runId).toBe('r1');
      if (rest.type === 'turn-started')
        return { type: rest.type, turn: rest.turn, max: rest.maxOutputTokens };
      if (rest.type === 'turn-finished')
        return {
          type: rest.type,
          turn: rest.turn,
          out: rest.usage.outputTokens,
          stop: rest.stopReason,
        };
      if (rest.type === 'tool-call-finished') {
        const { durationMs, ...kept } = rest;
        expect(durationMs).toBeGreaterThanOrEqual(0);
        return kept;
      }
      if (rest.type === 'run-finished')
        return { type: rest.type, status: rest.status, turns: rest.turns };
      return rest;
    });
    expect(shown).toEqual([
      { type: 'run-started', resumed: false, turnsSoFar: 0 },
      { type: 'turn-started', turn: 1, max: 500 },
      { type: 'turn-finished', turn: 1, out: 9, stop: 'tool_use' },
      {
        type: 'tool-call-started',
        turn: 1,
        toolCallId: 'e1',
        toolName: 'echo',
        input: { text: 'hi' },
      },
      {
        type: 'tool-call-finished',
        turn: 1,
        toolCallId: 'e1',
        toolName: 'echo',
        output: 'echo: hi',
      },
      { type: 'turn-started', turn: 2, max: 500 },
      { type: 'text-delta', turn: 2, text: 'All ' },
      { type: 'text-delta', turn: 2, text: 'done.' },
      { type: 'turn-finished', turn: 2, out: 3, stop: 'end_turn' },
      { type: 'run-finished', status: 'completed', turns: 2 },
    ]);
    // Usage and cost are loopwork's: the sum of the turns, priced from limits.prices.
    expect(result.usage.inputTokens).toBe(70);
    expect(result.usage.outputTokens).toBe(12);
    expect(result.costUsd).toBeCloseTo((70 * 3 + 12 * 15) / 1e6, 12);
    expect(result.state.runtime?.name).toBe('openai-agents');
    expect(result.state.messages).toEqual([
      { role: 'user', content: 'go' },
      {
        role: 'assistant',
        content: [{ type: 'tool-call', id: 'e1', name: 'echo', input: { text: 'hi' } }],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'e1',
            toolName: 'echo',
            output: 'echo: hi',
            isError: false,
          },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'All done.' }] },
    ]);
  });

  it('tool failures go back to the model and out as tool-call-failed with their reason', async () => {
    const picky = defineTool({
      name: 'picky',
      description: 'Wants a number',
      input: z.object({ n: z.number() }),
      execute: () => {
        // A non-Error thrown value is reported too.
        throw 'out of stock';
      },
    });
    const slow = defineTool({
      name: 'slow',
      description: 'Never answers',
      input: z.object({}),
      timeoutMs: 50,
      // Hangs and ignores its signal: the runtime stops waiting at the timeout anyway.
      execute: () => new Promise(() => {}),
    });
    const model = scriptedAgentsModel({
      turns: (request) => {
        const results = lastTool(request);
        if (results) return { text: results.map((r) => r.output).join(' | ') };
        return {
          toolCalls: [
            { id: 'bad', name: 'picky', input: { n: 'three' } },
            { id: 'boom', name: 'picky', input: { n: 3 } },
            { id: 'hang', name: 'slow', input: {} },
          ],
        };
      },
    });
    const { result, events } = await run(openAIAgentsRuntime({ model, tools: [picky, slow] }));
    expect(result.status).toBe('completed');
    const failed = events.flatMap((e) =>
      e.type === 'tool-call-failed' ? [{ id: e.toolCallId, reason: e.reason }] : [],
    );
    expect(failed).toEqual([
      { id: 'bad', reason: 'invalid_input' },
      { id: 'boom', reason: 'threw' },
      { id: 'hang', reason: 'timeout' },
    ]);
    expect(result.output).toContain('Invalid input for tool "picky": n:');
    expect(result.output).toContain('Tool "picky" failed: out of stock');
    expect(result.output).toContain('Tool "slow" timed out after 50 ms');
  });

  it('runs an agent of the user’s own (createAgent) with an SDK tool beside the loopwork tools', async () => {
    const weather = tool({
      name: 'weather',
      description: 'Weather in a city',
      parameters: z.object({ city: z.string() }),
      execute: async ({ city }) => `sunny in ${city}`,
    });
    const model = scriptedAgentsModel({ turns: callThenReport('weather', { city: 'Paris' }) });
    let seen: { tools: string[]; runId: string } | undefined;
    const { result, events } = await run(
      openAIAgentsRuntime({
        model,
        tools: [
          defineTool({ name: 'noop', description: 'x', input: z.object({}), execute: () => '' }),
        ],
        createAgent: ({ tools, runId }) => {
          seen = { tools: tools.map((t) => t.name), runId };
          return new Agent({
            name: 'forecaster',
            instructions: 'Be brief.',
            tools: [...tools, weather],
          });
        },
      }),
    );
    expect(seen).toEqual({ tools: ['noop'], runId: 'r1' });
    expect(result.status).toBe('completed');
    expect(result.output).toBe('results: weather=sunny in Paris');
    expect(result.state.system).toBe('Be brief.');
    expect(model.requests[0]?.system).toBe('Be brief.');
    expect(model.requests[0]?.tools?.map((t) => t.name)).toEqual(['noop', 'weather']);
    // An SDK tool's call is mapped too, from the SDK's run items.
    expect(events.filter((e) => e.type.startsWith('tool-call')).map((e) => e.type)).toEqual([
      'tool-call-started',
      'tool-call-finished',
    ]);
  });

  it('an agent given as `agent` gets the loopwork tools added; the model it names is budgeted through modelProvider', async () => {
    const model = scriptedAgentsModel({ turns: callThenReport('ping', {}) });
    const asked: Array<string | undefined> = [];
    const agent = new Agent({ name: 'mine', instructions: 'Hi.', model: 'scripted-mini' });
    const ping = defineTool({
      name: 'ping',
      description: 'Pings',
      input: z.object({}),
      execute: () => 'pong',
    });
    const { result } = await run(
      openAIAgentsRuntime({
        agent,
        tools: [ping],
        modelProvider: {
          getModel: (name) => {
            asked.push(name);
            return model;
          },
        },
      }),
      { limits: { prices: { 'scripted-mini': PRICES.scripted }, maxCostUsd: 1 } },
    );
    expect(result.output).toBe('results: ping=pong');
    expect(asked).toEqual(['scripted-mini']);
    expect(result.state.turns.map((t) => t.modelId)).toEqual(['scripted-mini', 'scripted-mini']);
    expect(result.costUsd).toBeGreaterThan(0);
    expect(agent.tools).toEqual([]);
  });

  it('a handoff to another agent stays on the budget: its calls go through the same ledger', async () => {
    const model = scriptedAgentsModel({
      turns: (request) =>
        request.system === 'You are the expert.'
          ? { text: 'expert answer', usage: { outputTokens: 5 } }
          : {
              toolCalls: [{ id: 'h1', name: 'transfer_to_expert', input: {} }],
              usage: { outputTokens: 7 },
            },
    });
    const expert = new Agent({ name: 'expert', instructions: 'You are the expert.' });
    const triage = new Agent({ name: 'triage', instructions: 'Route.', handoffs: [expert] });
    const { result, events } = await run(openAIAgentsRuntime({ agent: triage, model }));
    expect(result.status).toBe('completed');
    expect(result.output).toBe('expert answer');
    expect(result.state.turns.map((t) => t.usage.outputTokens)).toEqual([7, 5]);
    expect(events.filter((e) => e.type === 'turn-finished')).toHaveLength(2);
  });

  it('an agent run as a tool (asTool) is budgeted too, and the run is not checkpointed mid-turn', async () => {
    const model = scriptedAgentsModel({
      turns: (request) => {
        if (request.system === 'You research.')
          return { text: 'found it', usage: { outputTokens: 4 } };
        const results = lastTool(request);
        if (results) return { text: `answer: ${results[0]?.output}`, usage: { outputTokens: 6 } };
        return {
          toolCalls: [{ id: 'r1', name: 'research', input: { input: 'look it up' } }],
          usage: { outputTokens: 8 },
        };
      },
    });
    const researcher = new Agent({ name: 'researcher', instructions: 'You research.' });
    const agent = new Agent({
      name: 'lead',
      instructions: 'You lead.',
      tools: [researcher.asTool({ toolName: 'research', toolDescription: 'Researches' })],
    });
    const { result, checkpoints, events } = await run(openAIAgentsRuntime({ agent, model }));
    expect(result.status).toBe('completed');
    expect(result.output).toBe('answer: found it');
    // The nested agent's call went through the same ledger.
    expect(result.state.turns.map((t) => t.usage.outputTokens)).toEqual([8, 4, 6]);
    // Its turn is reported too, inside the tool call that ran it.
    expect(
      events
        .filter((e) => e.type.startsWith('turn') || e.type.startsWith('tool'))
        .map((e) => `${e.type}:${'turn' in e ? e.turn : ''}`),
    ).toEqual([
      'turn-started:1',
      'turn-finished:1',
      'tool-call-started:1',
      'turn-started:2',
      'turn-finished:2',
      'tool-call-finished:1',
      'turn-started:3',
      'turn-finished:3',
    ]);
    // Checkpoints before the lead's two calls and at the end; none while the tool ran.
    expect(checkpoints.map((c) => c.turns.length)).toEqual([0, 2, 3]);
  });

  it('a structured output (outputType) is the run’s output, its schema counted in the prompt estimate', async () => {
    const model = scriptedAgentsModel({ turns: () => ({ text: '{"city":"Paris","celsius":18}' }) });
    const schema = z.object({ city: z.string(), celsius: z.number() });
    const plain = await run(openAIAgentsRuntime({ agent: new Agent({ name: 'w' }), model }));
    const typed = await run(
      openAIAgentsRuntime({ agent: new Agent({ name: 'w', outputType: schema }), model }),
    );
    expect(typed.result.status).toBe('completed');
    expect(typed.result.output).toEqual({ city: 'Paris', celsius: 18 });
    const estimate = (events: AgentEvent[]) =>
      events.flatMap((e) => (e.type === 'turn-started' ? [e.estimatedInputTokens] : []))[0] ?? 0;
    expect(estimate(typed.events)).toBeGreaterThan(estimate(plain.events));
  });

  it('refuses an agent (or a handoff target) holding a Model object: its calls would bypass the budget', async () => {
    const model = scriptedAgentsModel({ turns: () => ({ text: 'hi' }) });
    const expert = new Agent({ name: 'expert', model });
    const agent = new Agent({ name: 'triage', handoffs: [expert] });
    const { result } = await run(openAIAgentsRuntime({ agent, model }));
    expect(result.status).toBe('failed');
    expect(result.error?.message).toContain(
      'agent "expert" has a Model object as its model, which loopwork cannot budget',
    );
    expect(model.requests).toHaveLength(0);
  });

  it('a budget that cuts the last answer short ends the run budget_exceeded', async () => {
    const model = scriptedAgentsModel({ turns: () => ({ text: 'word '.repeat(400) }) });
    const { result, events } = await run(openAIAgentsRuntime({ model, minTokensPerCall: 8 }), {
      limits: { prices: PRICES, maxOutputTokens: 40 },
    });
    expect(result.status).toBe('budget_exceeded');
    expect(result.budget).toBe('output_tokens');
    expect(result.usage.outputTokens).toBeLessThanOrEqual(40);
    expect(events.find((e) => e.type === 'turn-finished')).toMatchObject({
      stopReason: 'max_tokens',
    });
  });

  it('a call that cannot fit is never made: the run ends budget_exceeded before it', async () => {
    const model = scriptedAgentsModel({ turns: () => ({ text: 'hi' }) });
    const { result } = await run(openAIAgentsRuntime({ model }), {
      limits: { prices: PRICES, maxInputTokens: 5 },
    });
    expect(result.status).toBe('budget_exceeded');
    expect(result.budget).toBe('input_tokens');
    expect(model.requests).toHaveLength(0);
    expect(result.costUsd).toBe(0);
  });

  it.each([
    ['a string', 'rate limited (as a string)'],
    ['undefined', undefined],
    ['an object', { code: 42 }],
  ])('a model that throws %s fails the run with an Error saying so', async (_what, thrown) => {
    const model: Model = {
      getResponse: async () => {
        throw thrown;
      },
      // biome-ignore lint/correctness/useYield: it throws before its first event, as a broken provider would.
      async *getStreamedResponse() {
        throw thrown;
      },
    };
    const { result, events } = await run(openAIAgentsRuntime({ model, modelId: 'scripted' }));
    expect(result.status).toBe('failed');
    expect(result.error).toBeInstanceOf(Error);
    expect(result.error?.message).toContain(String(thrown));
    expect(result.state.status).toBe('failed');
    expect(events.at(-1)).toMatchObject({ type: 'run-finished', status: 'failed', turns: 0 });
  });

  it('cancel mid-run while a tool hangs and ignores its signal: the run ends aborted promptly', async () => {
    let started!: () => void;
    const toolStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const stuck = defineTool({
      name: 'stuck',
      description: 'Hangs',
      input: z.object({}),
      execute: () => {
        started();
        return new Promise(() => {});
      },
    });
    const model = scriptedAgentsModel({ turns: callThenReport('stuck', {}) });
    const controller = new AbortController();
    void toolStarted.then(() => controller.abort(new Error('cancelled by the user')));
    const { result, events } = await run(openAIAgentsRuntime({ model, tools: [stuck] }), {
      signal: controller.signal,
    });
    expect(result.status).toBe('aborted');
    expect(model.requests).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'run-finished', status: 'aborted' });
  });

  it('a model that ignores its output cap fails the run: budgets cannot hold without the cap', async () => {
    const inner = scriptedAgentsModel({ turns: () => ({ text: 'x' }) });
    const model: Model = {
      getResponse: (request) => inner.getResponse(request),
      async *getStreamedResponse(request) {
        for await (const event of inner.getStreamedResponse(request)) {
          if (event.type === 'response_done')
            yield {
              ...event,
              response: {
                ...event.response,
                usage: { ...event.response.usage, outputTokens: 999_999, totalTokens: 999_999 },
              },
            };
          else yield event;
        }
      },
    };
    const { result } = await run(openAIAgentsRuntime({ model, modelId: 'scripted' }));
    expect(result.status).toBe('failed');
    expect(result.error?.message).toContain('did not reach the provider');
  });

  it('refuses, as a failed run, what it cannot do', async () => {
    const model = scriptedAgentsModel({ turns: () => ({ text: 'hi' }) });
    const agent = new Agent({ name: 'a' });
    const both = await run(openAIAgentsRuntime({ model, agent, createAgent: () => agent }));
    expect(both.result.error?.message).toBe(
      '[loopwork:openai-agents] give either agent or createAgent, not both',
    );
    const notAgent = await run(
      openAIAgentsRuntime({ model, createAgent: () => ({ name: 'fake' }) as unknown as Agent }),
    );
    expect(notAgent.result.error?.message).toContain('createAgent must return an Agent');
    const noPrompt = await run(openAIAgentsRuntime({ model }), { input: {} });
    expect(noPrompt.result.error?.message).toContain('prompt is required');
    const foreign = await run(openAIAgentsRuntime({ model }), {
      resumeFrom: {
        kind: 'session',
        state: {
          ...both.result.state,
          status: 'completed',
          runtime: { name: 'langgraph', handle: {} },
        },
      },
    });
    expect(foreign.result.status).toBe('failed');
    expect(foreign.result.error?.message).toContain('written by the "langgraph" runtime');
    const noPrice = await run(openAIAgentsRuntime({ model, modelId: 'mystery' }), {
      limits: { maxCostUsd: 1 },
    });
    expect(noPrice.result.error?.message).toContain('no price is known for model "mystery"');
    expect(model.requests).toHaveLength(0);
  });
});

describe('openAIAgentsRuntime: resumes and answers', () => {
  const twoApprovals = () => {
    const executions: string[] = [];
    const act = defineTool({
      name: 'act',
      description: 'Acts',
      input: z.object({ what: z.string() }),
      execute: ({ what }, { idempotencyKey }) => {
        executions.push(idempotencyKey);
        return `did ${what}`;
      },
    });
    const model = scriptedAgentsModel({
      turns: (request) => {
        const results = lastTool(request);
        if (results) return { text: results.map((r) => `${r.toolCallId}=${r.output}`).join(', ') };
        return {
          toolCalls: [
            { id: 'a', name: 'act', input: { what: 'a' } },
            { id: 'b', name: 'act', input: { what: 'b' } },
          ],
        };
      },
    });
    return {
      executions,
      runtime: openAIAgentsRuntime({ model, tools: [act], needsApproval: ['act'] }),
    };
  };

  it('answering some approvals leaves the others waiting; answering them finishes the run', async () => {
    const { executions, runtime } = twoApprovals();
    const first = await run(runtime);
    expect(first.result.status).toBe('suspended');
    expect(first.result.state.suspensions.map((s) => s.toolCallId)).toEqual(['a', 'b']);
    const second = await run(runtime, {
      runId: 'r2',
      input: { answers: { a: 'approve' } },
      resumeFrom: { kind: 'session', state: first.result.state },
    });
    expect(second.result.status).toBe('suspended');
    expect(second.result.state.suspensions.map((s) => s.toolCallId)).toEqual(['b']);
    const third = await run(runtime, {
      runId: 'r3',
      input: { answers: { b: 'reject' } },
      resumeFrom: { kind: 'session', state: second.result.state },
    });
    expect(third.result.status).toBe('completed');
    expect(executions).toEqual(['r2:a']);
    expect(third.result.output).toMatch(/^a=did a, b=.+/);
    expect(third.result.state.turns).toHaveLength(2);
  });

  it('needsApproval as a function decides per call, from the call’s input', async () => {
    const pay = defineTool({
      name: 'pay',
      description: 'Pays',
      input: z.object({ amount: z.number() }),
      execute: ({ amount }) => `paid ${amount}`,
    });
    const model = scriptedAgentsModel({
      turns: () => ({
        toolCalls: [
          { id: 'small', name: 'pay', input: { amount: 5 } },
          { id: 'big', name: 'pay', input: { amount: 500 } },
        ],
      }),
    });
    const seen: unknown[] = [];
    const { result } = await run(
      openAIAgentsRuntime({
        model,
        tools: [pay],
        needsApproval: (toolName, input) => {
          seen.push([toolName, input]);
          return (input as { amount: number }).amount > 100;
        },
      }),
    );
    expect(result.status).toBe('suspended');
    expect(result.state.suspensions).toEqual([
      { toolCallId: 'big', toolName: 'pay', payload: { kind: 'approval', input: { amount: 500 } } },
    ]);
    expect(seen).toEqual([
      ['pay', { amount: 5 }],
      ['pay', { amount: 500 }],
    ]);
  });

  it('a bad answer is refused, naming the answer', async () => {
    const { runtime } = twoApprovals();
    const first = await run(runtime);
    const bad = await run(runtime, {
      runId: 'r2',
      input: { answers: { a: 'maybe' } },
      resumeFrom: { kind: 'session', state: first.result.state },
    });
    expect(bad.result.status).toBe('failed');
    expect(bad.result.error?.message).toBe(
      `[loopwork:openai-agents] answers.a must be true / 'approve', false / 'reject', or { approve: boolean, message?: string }, got "maybe"`,
    );
  });

  it('a failed run is retried from its last good checkpoint, repeating no tool call', async () => {
    const executions: string[] = [];
    const step = defineTool({
      name: 'step',
      description: 'Steps',
      input: z.object({ n: z.number() }),
      execute: ({ n }, { idempotencyKey }) => {
        executions.push(idempotencyKey);
        return `step ${n} done`;
      },
    });
    let failures = 0;
    const model = scriptedAgentsModel({
      turns: (request) => {
        const done = request.messages.filter((m) => m.role === 'tool').length;
        if (done === 1 && failures++ === 0)
          return { error: { kind: 'overloaded', message: 'try again later' } };
        return done < 2
          ? { toolCalls: [{ id: `s${done + 1}`, name: 'step', input: { n: done + 1 } }] }
          : { text: 'both steps done' };
      },
    });
    const runtime = openAIAgentsRuntime({ model, tools: [step] });
    const first = await run(runtime);
    expect(first.result.status).toBe('failed');
    expect(first.result.error?.message).toContain('try again later');
    const saved = first.checkpoints.at(-1)!;
    expect(saved.status).toBe('failed');
    const retried = await run(runtime, { resumeFrom: { kind: 'attempt', state: saved } });
    expect(retried.result.status).toBe('completed');
    expect(retried.result.output).toBe('both steps done');
    expect(executions).toEqual(['r1:s1', 'r1:s2']);
    expect(retried.result.state.turns).toHaveLength(3);
  });

  it('a redelivered run whose checkpoint shows it ended keeps that ending and calls nothing', async () => {
    const model = scriptedAgentsModel({ turns: () => ({ text: 'done once' }) });
    const runtime = openAIAgentsRuntime({ model });
    const first = await run(runtime);
    expect(first.result.status).toBe('completed');
    const again = await run(runtime, {
      resumeFrom: { kind: 'attempt', state: first.result.state },
    });
    expect(again.result.status).toBe('completed');
    expect(again.result.output).toBe('done once');
    expect(again.result.usage).toEqual(first.result.usage);
    expect(model.requests).toHaveLength(1);
  });

  it('suspend() fails the tool call under this runtime, telling the model to use approvals', async () => {
    const ask = defineTool({
      name: 'ask',
      description: 'Asks',
      input: z.object({}),
      execute: (_input, { suspend }) => suspend('ok?'),
    });
    const model = scriptedAgentsModel({ turns: callThenReport('ask', {}) });
    const { result, events } = await run(openAIAgentsRuntime({ model, tools: [ask] }));
    expect(result.status).toBe('completed');
    expect(result.output).toContain('suspend() is not available under the OpenAI Agents runtime');
    expect(events.find((e) => e.type === 'tool-call-failed')).toMatchObject({ reason: 'threw' });
  });
});
