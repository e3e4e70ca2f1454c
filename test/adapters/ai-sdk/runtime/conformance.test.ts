// The AI SDK ToolLoopAgent runtime passes the runtime conformance suite on a scripted
// MockLanguageModelV3 (ai/test) answering scenario.turn(n), n = assistant messages in the call.
import type { ModelRequest } from 'loopwork';
import { scriptedLanguageModel, toolLoopAgentRuntime } from 'loopwork/ai-sdk';
import { runtimeConformance } from 'loopwork/testing';
import { describe, it } from 'vitest';

const turnOf = (request: ModelRequest) =>
  request.messages.filter((message) => message.role === 'assistant').length;

runtimeConformance({
  describe,
  it,
  createRuntime: async (scenario) =>
    toolLoopAgentRuntime({
      model: await scriptedLanguageModel({ turns: (request) => scenario.turn(turnOf(request)) }),
      tools: scenario.tools,
      minTokensPerCall: 16,
    }),
});
