// The worker's appender joins queued deltas (text of a turn, input of a tool call) and nothing
// else: no event is lost, reordered, or merged across turns, tool calls or unknown fields.
import { createMemoryEventLog } from 'loopwork';
import { describe, expect, it } from 'vitest';
import { eventAppender } from '../../src/queue/event-appender';

const input = (toolCallId: string, inputTextDelta: string, extra: object = {}) => ({
  type: 'tool-input-delta',
  runId: 'r',
  turn: 1,
  toolCallId,
  inputTextDelta,
  ...extra,
});
const text = (turn: number, value: string) => ({
  type: 'text-delta',
  runId: 'r',
  turn,
  text: value,
});

describe('eventAppender', () => {
  it('joins queued deltas of one tool call or one turn, and keeps everything else apart', async () => {
    const log = createMemoryEventLog();
    const appender = eventAppender(log, 'r');
    const pushed = [
      { type: 'turn-started', runId: 'r', turn: 1 }, // goes at once; the rest queue behind it
      text(1, 'Let '),
      text(1, 'me'),
      { type: 'tool-input-started', runId: 'r', turn: 1, toolCallId: 'a', toolName: 'echo' },
      input('a', '{"te'),
      input('a', 'xt":'),
      input('a', '"hi"}'),
      input('b', '{}'), // another call: not joined with a's
      input('b', '', { note: 'x' }), // a field a join would drop: kept apart
      text(2, 'next'), // another turn: not joined with turn 1's text
      text(2, ' turn'),
    ];
    for (const event of pushed) appender.push(event);
    await appender.flushed();

    const stored = (await log.read('r')).map((event) => event.data);
    expect(stored).toEqual([
      pushed[0],
      text(1, 'Let me'),
      pushed[3],
      input('a', '{"text":"hi"}'),
      input('b', '{}'),
      input('b', '', { note: 'x' }),
      text(2, 'next turn'),
    ]);
    expect(appender.lost.count).toBe(0);
  });

  it('stops joining at 8 KiB of text and starts a new delta', async () => {
    const log = createMemoryEventLog();
    const appender = eventAppender(log, 'r');
    appender.push({ type: 'turn-started', runId: 'r', turn: 1 });
    const piece = 'x'.repeat(1_000);
    for (let i = 0; i < 10; i++) appender.push(input('a', piece));
    await appender.flushed();
    const deltas = (await log.read('r'))
      .map((event) => event.data as { type: string; inputTextDelta?: string })
      .filter((data) => data.type === 'tool-input-delta');
    expect(deltas.map((data) => data.inputTextDelta?.length)).toEqual([8_000, 2_000]);
  });
});
