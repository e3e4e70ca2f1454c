// The Claude Agent SDK runtime passes loopwork's runtime conformance suite, offline: the real
// `claude` binary from the SDK's platform package runs each scenario against a loopback fake
// Anthropic upstream (scripted per turn), reached only through loopwork's budget proxy.
import { claudeAgentRuntime, fakeAnthropicUpstream } from 'loopwork/claude-agent-sdk';
import { runtimeConformance } from 'loopwork/testing';
import { afterAll, describe, it } from 'vitest';

const upstreams: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(upstreams.map((upstream) => upstream.close()));
});

runtimeConformance({
  describe,
  it: (name, fn) => it(name, fn, 240_000),
  budgetRuns: 12,
  async createRuntime(scenario) {
    const upstream = await fakeAnthropicUpstream({
      turn: (n) => scenario.turn(n),
      apiKey: 'sk-upstream-test-key',
    });
    upstreams.push(upstream);
    return claudeAgentRuntime({
      model: scenario.modelId,
      systemPrompt: 'You are a test agent.',
      tools: scenario.tools,
      upstream: { baseURL: upstream.url, apiKey: 'sk-upstream-test-key' },
    });
  },
});
