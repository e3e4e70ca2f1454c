import { createMemorySessionStore, defineTool, InvalidOptionError, runAgent } from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { eventLog, lastToolResults, rejectionOf } from './helpers';

function approvalTools() {
  const ran: string[] = [];
  const tools = [
    defineTool({
      name: 'ask_approval',
      description: 'Asks a person to approve an action',
      input: z.object({ question: z.string() }),
      execute: ({ question }, context) => {
        ran.push(context.toolCallId);
        return context.suspend({ question });
      },
    }),
    defineTool({
      name: 'read_file',
      description: 'Reads a file',
      input: z.object({ path: z.string() }),
      execute: ({ path }, context) => {
        ran.push(context.toolCallId);
        return `contents of ${path}`;
      },
    }),
  ];
  return { tools, ran };
}

const script = [
  {
    toolCalls: [
      { name: 'read_file', input: { path: 'a.txt' }, id: 'read1' },
      { name: 'ask_approval', input: { question: 'Deploy to production?' }, id: 'ask1' },
      { name: 'read_file', input: { path: 'b.txt' }, id: 'read2' },
    ],
  },
  { text: 'Deployed.' },
];

describe('suspend', () => {
  it('a suspending tool ends the run as suspended; other tools of the batch keep their results', async () => {
    const { tools, ran } = approvalTools();
    const store = createMemorySessionStore();
    const model = new ScriptedModel({ turns: script });
    const log = eventLog();
    const result = await runAgent({
      model,
      prompt: 'deploy',
      tools,
      checkpoints: store,
      runId: 's1',
      onEvent: log.onEvent,
    });

    expect(result.status).toBe('suspended');
    expect(result.suspensions).toEqual([
      {
        toolCallId: 'ask1',
        toolName: 'ask_approval',
        payload: { question: 'Deploy to production?' },
      },
    ]);
    expect(result.state.suspensions).toEqual(result.suspensions);
    expect(result.state.toolResults.map((r) => [r.toolCallId, r.output]).sort()).toEqual([
      ['read1', 'contents of a.txt'],
      ['read2', 'contents of b.txt'],
    ]);
    expect(log.ofType('suspended')).toEqual([
      { type: 'suspended', runId: 's1', suspensions: result.suspensions },
    ]);
    expect(log.types().slice(-2)).toEqual(['suspended', 'run-finished']);
    // The suspended call neither finished nor failed.
    expect(
      log
        .ofType('tool-call-finished')
        .map((e) => e.toolCallId)
        .sort(),
    ).toEqual(['read1', 'read2']);
    expect(log.ofType('tool-call-failed')).toEqual([]);
    expect(model.requests).toHaveLength(1);
    expect(ran.sort()).toEqual(['ask1', 'read1', 'read2']);
    expect((await store.load('s1'))?.state.status).toBe('suspended');
  });

  it('resuming with the answer continues the run, without running any tool again', async () => {
    const { tools, ran } = approvalTools();
    const store = createMemorySessionStore();
    await runAgent({
      model: new ScriptedModel({ turns: script }),
      prompt: 'deploy',
      tools,
      checkpoints: store,
      runId: 's2',
    });
    ran.length = 0;

    const model = new ScriptedModel({ turns: script.slice(1) });
    const result = await runAgent({
      model,
      tools,
      checkpoints: store,
      runId: 's2',
      answers: { ask1: 'yes' },
    });
    expect(result.status).toBe('completed');
    expect(result.text).toBe('Deployed.');
    expect(ran).toEqual([]);
    expect(result.suspensions).toEqual([]);
    expect(lastToolResults(model.requests[0]?.messages ?? [])).toEqual([
      {
        type: 'tool-result',
        toolCallId: 'read1',
        toolName: 'read_file',
        output: 'contents of a.txt',
        isError: false,
      },
      {
        type: 'tool-result',
        toolCallId: 'ask1',
        toolName: 'ask_approval',
        output: 'yes',
        isError: false,
      },
      {
        type: 'tool-result',
        toolCallId: 'read2',
        toolName: 'read_file',
        output: 'contents of b.txt',
        isError: false,
      },
    ]);
  });

  it('a non-string answer is sent as JSON', async () => {
    const { tools } = approvalTools();
    const first = await runAgent({
      model: new ScriptedModel({ turns: script }),
      prompt: 'deploy',
      tools,
    });
    const model = new ScriptedModel({ turns: script.slice(1) });
    await runAgent({
      model,
      tools,
      state: first.state,
      answers: { ask1: { approved: true, by: 'ana' } },
    });
    expect(lastToolResults(model.requests[0]?.messages ?? [])[1]?.output).toBe(
      '{"approved":true,"by":"ana"}',
    );
  });

  it('resuming without an answer stays suspended and calls nothing', async () => {
    const { tools } = approvalTools();
    const first = await runAgent({
      model: new ScriptedModel({ turns: script }),
      prompt: 'deploy',
      tools,
    });
    const model = new ScriptedModel({ turns: script.slice(1) });
    const again = await runAgent({ model, tools, state: first.state });
    expect(again.status).toBe('suspended');
    expect(model.requests).toHaveLength(0);
  });

  it('an answer for an unknown tool call id is refused, naming the ids that wait', async () => {
    const { tools } = approvalTools();
    const first = await runAgent({
      model: new ScriptedModel({ turns: script }),
      prompt: 'deploy',
      tools,
    });
    const model = new ScriptedModel({ turns: script.slice(1) });
    const error = await rejectionOf(() =>
      runAgent({ model, tools, state: first.state, answers: { nope: 'yes' } }),
    );
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toBe('answers: no suspended tool call "nope" (waiting: ask1)');
    expect(model.requests).toHaveLength(0);
  });

  it('answers for a new run are refused', async () => {
    const error = await rejectionOf(() =>
      runAgent({
        model: new ScriptedModel({ turns: [] }),
        prompt: 'hi',
        runId: 'fresh',
        answers: { x: 'y' },
      }),
    );
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toContain('answers');
    expect(error.message).toContain('"fresh"');
  });

  it('two suspended calls: answering one keeps the run suspended on the other', async () => {
    const { tools } = approvalTools();
    const twoQuestions = [
      {
        toolCalls: [
          { name: 'ask_approval', input: { question: 'A?' }, id: 'qa' },
          { name: 'ask_approval', input: { question: 'B?' }, id: 'qb' },
        ],
      },
      { text: 'Both answered.' },
    ];
    const first = await runAgent({
      model: new ScriptedModel({ turns: twoQuestions }),
      prompt: 'ask',
      tools,
    });
    expect(first.suspensions.map((s) => s.toolCallId).sort()).toEqual(['qa', 'qb']);

    const idle = new ScriptedModel({ turns: twoQuestions.slice(1) });
    const half = await runAgent({ model: idle, tools, state: first.state, answers: { qb: 'no' } });
    expect(half.status).toBe('suspended');
    expect(half.suspensions.map((s) => s.toolCallId)).toEqual(['qa']);
    expect(idle.requests).toHaveLength(0);

    const model = new ScriptedModel({ turns: twoQuestions.slice(1) });
    const done = await runAgent({ model, tools, state: half.state, answers: { qa: 'yes' } });
    expect(done.status).toBe('completed');
    expect(
      lastToolResults(model.requests[0]?.messages ?? []).map((r) => [r.toolCallId, r.output]),
    ).toEqual([
      ['qa', 'yes'],
      ['qb', 'no'],
    ]);
  });
});
