// The stdout line splitter: whole UTF-8 characters across chunks, CRLF, blank lines skipped, a
// line over the cap reported by size without being held, and the rest of the stream still read.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type Line, readLines, Tail } from '../../../adapters/process/line-reader';

async function linesOf(chunks: Buffer[], max = 64): Promise<Line[]> {
  const stream = new PassThrough();
  const lines: Line[] = [];
  const done = readLines(stream, max, (line) => lines.push(line));
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  await done;
  return lines;
}

describe('readLines', () => {
  it('keeps a character split across chunks whole; handles CRLF, blank lines and a last line without newline', async () => {
    const bytes = Buffer.from('{"t":"é€"}\r\n\n{"t":"b"}\n{"t":"c"}');
    const lines = await linesOf([bytes.subarray(0, 8), bytes.subarray(8, 9), bytes.subarray(9)]);
    expect(lines).toEqual([
      { kind: 'line', number: 1, text: '{"t":"é€"}' },
      { kind: 'line', number: 3, text: '{"t":"b"}' },
      { kind: 'line', number: 4, text: '{"t":"c"}' },
    ]);
  });

  it('reports a line over the cap by its size and reads on', async () => {
    const huge = Buffer.from(`${'x'.repeat(100)}${'y'.repeat(100)}\nnext\n`);
    const lines = await linesOf(
      [huge.subarray(0, 50), huge.subarray(50, 150), huge.subarray(150)],
      64,
    );
    expect(lines).toEqual([
      { kind: 'oversized', number: 1, bytes: 200 },
      { kind: 'line', number: 2, text: 'next' },
    ]);
  });

  it('ends when the stream is destroyed without an end', async () => {
    const stream = new PassThrough();
    const lines: Line[] = [];
    const done = readLines(stream, 64, (line) => lines.push(line));
    stream.write('a\nb');
    stream.destroy();
    await done;
    expect(lines.map((line) => line.kind === 'line' && line.text)).toEqual(['a', 'b']);
  });
});

describe('Tail', () => {
  it('keeps the last bytes and marks the cut', () => {
    const tail = new Tail(5);
    tail.push(Buffer.from('hello '));
    tail.push(Buffer.from('world'));
    expect(tail.text()).toBe('…world');
  });
});
