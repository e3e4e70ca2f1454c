// The run state's history is read from Claude Code's session entries: blocks of one API message
// joined, notes and filler left out, abandoned calls dropped; checkpointed results added back.
import { describe, expect, it } from 'vitest';
import type { TranscriptEntry } from '../../../adapters/claude-agent-sdk/session-handle';
import {
  transcriptOf,
  withCheckpointedResults,
} from '../../../adapters/claude-agent-sdk/transcript';

const name = (n: string) => n.replace('mcp__loopwork__', '');
const user = (content: unknown, extra: Record<string, unknown> = {}): TranscriptEntry => ({
  type: 'user',
  uuid: `u${Math.random()}`,
  message: { role: 'user', content },
  ...extra,
});
const assistant = (
  id: string,
  content: unknown[],
  extra: Record<string, unknown> = {},
): TranscriptEntry => ({
  type: 'assistant',
  uuid: `a${Math.random()}`,
  sessionId: 's1',
  message: { id, role: 'assistant', model: 'm', content },
  ...extra,
});
const call = (id: string) => ({ type: 'tool_use', id, name: 'mcp__loopwork__step', input: { id } });
const result = (id: string, text: string) => ({
  type: 'tool_result',
  tool_use_id: id,
  content: [{ type: 'text', text }],
});

describe('transcriptOf', () => {
  it('joins the blocks of one API message and leaves out notes, subagents and filler', () => {
    const entries: TranscriptEntry[] = [
      user('go'),
      { type: 'attachment', uuid: 'x' },
      assistant('m1', [{ type: 'text', text: 'let me ' }]),
      assistant('m1', [call('c1')]),
      assistant('side', [{ type: 'text', text: 'subagent' }], { isSidechain: true }),
      user([result('c1', 'ok')]),
      assistant('syn', [{ type: 'text', text: 'No response requested.' }], {
        message: {
          id: 'syn',
          model: '<synthetic>',
          content: [{ type: 'text', text: 'No response requested.' }],
        },
      }),
      user('Continue from where you left off.', { isMeta: true }),
      assistant('m2', [{ type: 'text', text: 'done' }]),
    ];
    expect(transcriptOf(entries, name)).toEqual([
      { role: 'user', content: 'go' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'let me ' },
          { type: 'tool-call', id: 'c1', name: 'step', input: { id: 'c1' } },
        ],
      },
      {
        role: 'tool',
        content: [
          { type: 'tool-result', toolCallId: 'c1', toolName: 'step', output: 'ok', isError: false },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'done' }] },
    ]);
  });

  it('drops a call abandoned by a crash (asked again later), keeps a pending one at the end', () => {
    const entries = [user('go'), assistant('m1', [call('c1')]), assistant('m2', [call('c2')])];
    expect(transcriptOf(entries, name).map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(transcriptOf(entries, name)[1]).toMatchObject({ content: [{ id: 'c2' }] });
  });
});

describe('withCheckpointedResults', () => {
  it('adds the checkpointed result of an unanswered call, chained after the last entry', () => {
    const entries = [user('go'), assistant('m1', [call('c1')])];
    const repaired = withCheckpointedResults(entries, [
      { type: 'tool-result', toolCallId: 'c1', toolName: 'step', output: 'done', isError: false },
      { type: 'tool-result', toolCallId: 'other', toolName: 'step', output: 'x', isError: false },
    ]);
    expect(repaired).toHaveLength(3);
    expect(repaired[2]).toMatchObject({
      type: 'user',
      parentUuid: entries[1]?.uuid,
      sessionId: 's1',
      message: { content: [{ type: 'tool_result', tool_use_id: 'c1' }] },
    });
    expect(transcriptOf(repaired, name).at(-1)).toMatchObject({
      role: 'tool',
      content: [{ output: 'done' }],
    });
    // Nothing to add: the same entries.
    expect(withCheckpointedResults(repaired, [])).toEqual(repaired);
  });
});
