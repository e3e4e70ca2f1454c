// A missing optional peer is reported as what to install, not as Node's bare module error.
import { InvalidOptionError } from 'loopwork';
import { describe, expect, it } from 'vitest';
import { importPeer } from '../../../adapters/openai-agents/peers';
import { rejectionOf } from '../../helpers/rejection';

describe('importPeer', () => {
  it.each(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'])(
    'turns a missing module (%s) into an error that says what to install',
    async (code) => {
      const missing = Object.assign(new Error("Cannot find package '@openai/agents'"), { code });
      const error = await rejectionOf(() =>
        importPeer('@openai/agents', () => Promise.reject(missing)),
      );
      expect(InvalidOptionError.isInstance(error)).toBe(true);
      expect(error.message).toBe(
        '[loopwork:openai-agents] cannot load @openai/agents: loopwork/openai-agents needs the optional peer dependency @openai/agents 0.14 (npm install @openai/agents@~0.14.3 openai@^6; 0.15 and later need Node 22)',
      );
      expect((error as Error & { cause?: unknown }).cause).toBe(missing);
    },
  );

  it('passes any other failure through unchanged', async () => {
    const broken = new SyntaxError('Unexpected token');
    expect(
      await rejectionOf(() => importPeer('@openai/agents', () => Promise.reject(broken))),
    ).toBe(broken);
  });

  it('resolves with the module when it loads', async () => {
    expect(await importPeer('x', async () => ({ ok: true }))).toEqual({ ok: true });
  });
});
