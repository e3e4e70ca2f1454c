// A missing optional peer is reported as what to install, not as Node's bare module error.
import { InvalidOptionError } from 'loopwork';
import { describe, expect, it } from 'vitest';
import { importPeer } from '../../../adapters/claude-agent-sdk/peers';
import { rejectionOf } from '../../helpers/rejection';

describe('importPeer', () => {
  it('turns a missing module into an error that says what to install', async () => {
    const missing = Object.assign(
      new Error("Cannot find package '@anthropic-ai/claude-agent-sdk'"),
      {
        code: 'ERR_MODULE_NOT_FOUND',
      },
    );
    const error = await rejectionOf(() =>
      importPeer('@anthropic-ai/claude-agent-sdk', () => Promise.reject(missing)),
    );
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toBe(
      '[loopwork:claude-agent-sdk] cannot load @anthropic-ai/claude-agent-sdk: loopwork/claude-agent-sdk needs the optional peer dependency @anthropic-ai/claude-agent-sdk (npm install @anthropic-ai/claude-agent-sdk@0.3.335)',
    );
    expect((error as Error & { cause?: unknown }).cause).toBe(missing);
  });

  it('passes any other failure through unchanged', async () => {
    const broken = new SyntaxError('Unexpected token');
    expect(await rejectionOf(() => importPeer('x', () => Promise.reject(broken)))).toBe(broken);
  });

  it('resolves with the module when it loads', async () => {
    expect(await importPeer('x', async () => ({ ok: true }))).toEqual({ ok: true });
  });
});
