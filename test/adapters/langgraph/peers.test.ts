// A missing optional peer is reported as what to install, not as Node's bare module error.
import { InvalidOptionError } from 'loopwork';
import { describe, expect, it } from 'vitest';
import { importPeer } from '../../../adapters/langgraph/peers';
import { rejectionOf } from '../../helpers/rejection';

describe('importPeer', () => {
  it('turns a missing module into an error that says what to install', async () => {
    const missing = Object.assign(new Error("Cannot find package '@langchain/langgraph'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const error = await rejectionOf(() =>
      importPeer('@langchain/langgraph', () => Promise.reject(missing)),
    );
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toBe(
      '[loopwork:langgraph] cannot load @langchain/langgraph: loopwork/langgraph needs the optional peer dependencies @langchain/langgraph and @langchain/core (npm install @langchain/langgraph@^1.7.3 @langchain/core@^1.4.0)',
    );
    expect((error as Error & { cause?: unknown }).cause).toBe(missing);
  });

  it('passes any other failure through unchanged', async () => {
    const broken = new SyntaxError('Unexpected token');
    expect(
      await rejectionOf(() => importPeer('@langchain/core', () => Promise.reject(broken))),
    ).toBe(broken);
  });

  it('resolves with the module when it loads', async () => {
    expect(await importPeer('x', async () => ({ ok: true }))).toEqual({ ok: true });
  });
});
