// loopwork's own loop is a Runtime like any other: it passes the runtime conformance suite.
import { loopRuntime, type ModelRequest } from 'loopwork';
import { runtimeConformance, ScriptedModel } from 'loopwork/testing';
import { describe, it } from 'vitest';

/** The scenario's n: assistant messages already in the request. */
const turnOf = (request: ModelRequest) =>
  request.messages.filter((message) => message.role === 'assistant').length;

runtimeConformance({
  describe,
  it,
  createRuntime: (scenario) =>
    loopRuntime({
      model: new ScriptedModel({ turns: (request) => scenario.turn(turnOf(request)) }),
      tools: scenario.tools,
      minTokensPerCall: 16,
    }),
});
