// The OpenAI Agents runtime passes the runtime conformance suite on a scripted SDK Model
// answering scenario.turn(n), n = assistant turns in the request.
import type { ModelRequest } from 'loopwork';
import { openAIAgentsRuntime, scriptedAgentsModel } from 'loopwork/openai-agents';
import { runtimeConformance } from 'loopwork/testing';
import { describe, it } from 'vitest';

const turnOf = (request: ModelRequest) =>
  request.messages.filter((message) => message.role === 'assistant').length;

runtimeConformance({
  describe,
  it,
  createRuntime: (scenario) =>
    openAIAgentsRuntime({
      model: scriptedAgentsModel({ turns: (request) => scenario.turn(turnOf(request)) }),
      tools: scenario.tools,
      minTokensPerCall: 16,
    }),
});
