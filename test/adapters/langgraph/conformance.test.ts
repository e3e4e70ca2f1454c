// The LangGraph runtime passes the runtime conformance suite on a scripted LangChain chat model
// answering scenario.turn(n), n = assistant messages in the request.
import type { ModelRequest } from 'loopwork';
import { langGraphRuntime, scriptedChatModel } from 'loopwork/langgraph';
import { runtimeConformance } from 'loopwork/testing';
import { describe, it } from 'vitest';

const turnOf = (request: ModelRequest) =>
  request.messages.filter((message) => message.role === 'assistant').length;

runtimeConformance({
  describe,
  it,
  createRuntime: async (scenario) =>
    langGraphRuntime({
      model: await scriptedChatModel({ turns: (request) => scenario.turn(turnOf(request)) }),
      tools: scenario.tools,
      minTokensPerCall: 16,
    }),
});
