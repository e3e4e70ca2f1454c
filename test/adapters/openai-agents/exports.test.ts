// The public surface of loopwork/openai-agents, spelled out: changing it must be a deliberate edit.
import * as openaiAgents from 'loopwork/openai-agents';
import { expect, it } from 'vitest';

it("'loopwork/openai-agents' exports exactly the listed names", () => {
  expect(Object.keys(openaiAgents).sort()).toEqual(
    [
      'OPENAI_AGENTS_DEFAULTS',
      'agentsTools',
      'budgetedModel',
      'openAIAgentsRuntime',
      'scriptedAgentsModel',
    ].sort(),
  );
  for (const [name, value] of Object.entries(openaiAgents)) expect(value, name).toBeDefined();
});
