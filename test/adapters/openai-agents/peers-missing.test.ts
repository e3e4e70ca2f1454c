// Without @openai/agents installed, a run fails with what to install. A child Node process runs
// the runtime with a module hook that makes the package unresolvable, as Node does when it is
// missing (ERR_MODULE_NOT_FOUND from the real loader).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const fixture = (name: string) => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));

describe('openAIAgentsRuntime without @openai/agents', () => {
  it('fails the run, saying what to install', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        fixture('hide-openai-agents.mjs'),
        fixture('run-without-peer.ts'),
      ],
      { timeout: 60_000 },
    );
    expect(JSON.parse(stdout)).toEqual({
      status: 'failed',
      message:
        '[loopwork:openai-agents] cannot load @openai/agents: loopwork/openai-agents needs the optional peer dependency @openai/agents 0.14 (npm install @openai/agents@~0.14.3 openai@^6; 0.15 and later need Node 22)',
    });
  }, 90_000);
});
