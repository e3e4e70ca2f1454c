// Options and names of loopwork/mcp that need no server.
import { InvalidOptionError } from 'loopwork';
import { connectMcp, fitToolName } from 'loopwork/mcp';
import { describe, expect, it } from 'vitest';

describe('connectMcp options', () => {
  it.each([
    [{ servers: {} }, /servers must name at least one server/],
    [{ servers: { 'bad name': { command: 'x' } } }, /servers: name "bad name" is invalid/],
    [
      { servers: { a: { command: 'x', url: 'http://h/mcp' } } },
      /servers.a needs either command .* not both/,
    ],
    [{ servers: { a: {} } }, /servers.a needs either command .* not neither/],
    [
      { servers: { a: { url: 'not a url' } } },
      /servers.a.url must be an absolute URL, got "not a url"/,
    ],
    [
      { servers: { a: { command: 'x', timeoutMs: 0 } } },
      /servers.a.timeoutMs must be a positive integer, got 0/,
    ],
    [
      { servers: { a: { command: 'x' } }, callTimeoutMs: -1 },
      /callTimeoutMs must be a positive integer, got -1/,
    ],
  ])('refuses %j, naming the option', async (options, message) => {
    const error = await connectMcp(options as never).catch((thrown: unknown) => thrown);
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
  });
});

describe('fitToolName', () => {
  it('keeps a valid name, replaces characters loopwork does not allow', () => {
    expect(fitToolName('fs__read_file')).toBe('fs__read_file');
    expect(fitToolName('fs__files.read/all')).toBe('fs__files_read_all');
  });

  it('cuts a long name to 64 with a hash, so two long names with one beginning stay apart', () => {
    const a = fitToolName(`srv__${'x'.repeat(80)}_alpha`);
    const b = fitToolName(`srv__${'x'.repeat(80)}_beta`);
    expect(a).toHaveLength(64);
    expect(b).toHaveLength(64);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[a-zA-Z0-9_-]{64}$/);
  });
});
