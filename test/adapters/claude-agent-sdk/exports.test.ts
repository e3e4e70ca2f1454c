// The public surface of loopwork/claude-agent-sdk, spelled out: changing it must be a deliberate edit.
import * as claude from 'loopwork/claude-agent-sdk';
import { expect, it } from 'vitest';

it("'loopwork/claude-agent-sdk' exports exactly the listed names", () => {
  expect(Object.keys(claude).sort()).toEqual(
    [
      'CLAUDE_AGENT_SDK_DEFAULTS',
      'budgetProxy',
      'claudeAgentRuntime',
      'fakeAnthropicUpstream',
    ].sort(),
  );
  for (const [name, value] of Object.entries(claude)) expect(value, name).toBeDefined();
});
