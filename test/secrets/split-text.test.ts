// A secret the model writes in pieces (streamed text, streamed tool input) is caught even when a
// piece boundary falls inside it; nothing else is lost, and the pieces still join to the text.
import { createRedactor, defineTool, runAgent } from 'loopwork';
import { ScriptedModel } from 'loopwork/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { splitTextRedactor } from '../../src/secrets/split-text';
import { prng } from '../helpers/fuzz';

const SECRET = 'tok_live_9f8e7d6c5b4a3f2e1d0c';
const redactor = createRedactor({ secrets: [SECRET], defaults: false });

/** Feeds `pieces` through a split redactor; returns what it showed, piece by piece. */
function feed(pieces: string[]): string[] {
  const split = splitTextRedactor(redactor.string, '[REDACTED]');
  return [...pieces.map((piece) => split.push(piece)), split.end()];
}

describe('splitTextRedactor', () => {
  it('catches a secret cut anywhere, and shows everything else, in order', () => {
    const text = `Use the key ${SECRET} for "payments", then stop.`;
    const random = prng(7);
    for (let run = 0; run < 500; run++) {
      const pieces: string[] = [];
      for (let at = 0; at < text.length; ) {
        const size = 1 + Math.floor(random() * 12);
        pieces.push(text.slice(at, at + size));
        at += size;
      }
      const shown = feed(pieces);
      expect(shown.join('')).toBe(text.replace(SECRET, '[REDACTED]'));
      for (const piece of shown) expect(piece).not.toContain(SECRET.slice(0, 12));
    }
  });

  it('holds back only the token being written: words appear as they are completed', () => {
    expect(feed(['Hello wor', 'ld, and ', 'more'])).toEqual(['Hello ', 'world, and ', '', 'more']);
  });

  it('a pattern that spans what was shown and the new text makes the new part the replacement', () => {
    const bearer = createRedactor({ defaults: false, patterns: [/Bearer [A-Za-z0-9]+/] });
    const split = splitTextRedactor(bearer.string, '[REDACTED]');
    expect(split.push('Authorization: Bearer ')).toBe('Authorization: Bearer ');
    expect(split.push('abc123XYZ done')).toBe('[REDACTED]');
    expect(split.end()).toBe('done');
  });
});

describe('a run whose model streams a secret in pieces', () => {
  it('shows it in no text-delta or tool-input-delta, whatever the chunking', async () => {
    const probe = defineTool({
      name: 'probe',
      description: 'takes a key',
      input: z.object({ key: z.string() }),
      execute: () => 'ok',
    });
    const model = new ScriptedModel({
      turns: [
        {
          chunks: ['The key is tok_live_9f8e', '7d6c5b4a3f2e1d0c, calling.'],
          toolCalls: [{ name: 'probe', input: { key: SECRET } }],
        },
        { chunks: ['Done with tok_l', 'ive_9f8e7d6c5b4a3f2e1d0c.'] },
      ],
    });
    const deltas: string[] = [];
    await runAgent({
      model,
      prompt: 'go',
      tools: [probe],
      redact: { secrets: [SECRET] },
      onEvent: (event) => {
        if (event.type === 'text-delta') deltas.push(event.text);
        if (event.type === 'tool-input-delta') deltas.push(event.inputTextDelta);
      },
    });
    expect(deltas.join('|')).not.toMatch(/9f8e|tok_live/);
    expect(deltas.join('')).toContain('The key is [REDACTED], calling.');
    expect(deltas.join('')).toContain('{"key":"[REDACTED]"}');
  });
});
