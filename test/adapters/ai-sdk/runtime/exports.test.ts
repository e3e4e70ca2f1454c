// The public surface of loopwork/ai-sdk, spelled out: changing it must be a deliberate edit.
import * as aiSdk from 'loopwork/ai-sdk';
import { expect, it } from 'vitest';

it("'loopwork/ai-sdk' exports exactly the listed names", () => {
  expect(Object.keys(aiSdk).sort()).toEqual(
    [
      'AI_SDK_RUNTIME_DEFAULTS',
      'aiSdk',
      'aiSdkTools',
      'budgetMiddleware',
      'scriptedLanguageModel',
      'toolLoopAgentRuntime',
    ].sort(),
  );
  for (const [name, value] of Object.entries(aiSdk)) expect(value, name).toBeDefined();
});
