// agentTask with an output schema: the run record carries the validated answer, never the text
// of a refused one.
import { agentTask } from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { memorySetup } from './helpers';

const Triage = z.object({ severity: z.enum(['low', 'high']), reason: z.string() });

describe('agentTask output', () => {
  it('puts the validated answer on the run record after a refused one', async () => {
    const setup = memorySetup();
    const agent = agentTask({
      type: 'triage',
      checkpoints: setup.checkpoints,
      agent: () => ({
        model: new ScriptedModel({
          supportsResponseFormat: true,
          turns: [
            { text: '{"severity":"urgent"}' },
            { text: '{"severity":"high","reason":"outage"}' },
          ],
        }),
      }),
      output: Triage,
    });
    const worker = setup.worker({ handlers: [agent.handler] });
    await setup.dispatcher.dispatch(agent.task, { prompt: 'Site down' }, { runId: 't1' });
    expect(await worker.runOnce()).toBe('completed');
    const record = await setup.runs.get('t1');
    expect(record?.output).toEqual({ severity: 'high', reason: 'outage' });
    const events = await setup.events.read('t1');
    expect(events.some((e) => (e.data as { type?: string }).type === 'output-rejected')).toBe(true);
  });

  it('a run that ends without a valid answer has no output on its record', async () => {
    const setup = memorySetup();
    const agent = agentTask({
      type: 'triage',
      checkpoints: setup.checkpoints,
      agent: { model: new ScriptedModel({ turns: [{ text: 'not json' }] }), maxTurns: 1 },
      output: Triage,
    });
    const worker = setup.worker({ handlers: [agent.handler] });
    await setup.dispatcher.dispatch(agent.task, { prompt: 'Site down' }, { runId: 't2' });
    expect(await worker.runOnce()).toBe('max_turns');
    const record = await setup.runs.get('t2');
    expect(record?.status).toBe('max_turns');
    expect(record?.output).toBeUndefined();
  });
});
