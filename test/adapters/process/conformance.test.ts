// The process runtime passes the runtime conformance suite with the loopwork-ndjson format: each
// run starts a scripted agent process (fixtures/scripted-agent.mjs) whose "model" is a loopback
// server answering scenario.turn(n), n = the agent's assistant messages so far.
import { processRuntime } from 'loopwork/process';
import { runtimeConformance } from 'loopwork/testing';
import { afterAll, describe, it, vi } from 'vitest';
import { closeServers, SCRIPTED_AGENT, serveTurns } from './scenario-server';

// Every run starts a Node process: on a loaded 2-core machine the fuzz's 30 runs take a while.
vi.setConfig({ testTimeout: 300_000 });
afterAll(closeServers);

runtimeConformance({
  describe,
  it,
  createRuntime: async (scenario) =>
    processRuntime({
      command: process.execPath,
      args: [SCRIPTED_AGENT],
      env: { LOOPWORK_SCRIPT_URL: await serveTurns(scenario.turn) },
      tools: scenario.tools,
      minTokensPerCall: 16,
      interruptGraceMs: 2_000,
      terminateGraceMs: 2_000,
    }),
});
