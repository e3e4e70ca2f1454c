// loopwork/mcp against a real MCP server (the SDK's McpServer, test/fixtures/mcp/server.ts) over
// both transports: a child process on stdio, and streamable HTTP on a loopback port.
import { type AgentEvent, loopRuntime, runAgent, type ToolResultPart } from 'loopwork';
import { connectMcp, type McpConnection, withMcp } from 'loopwork/mcp';
import { ScriptedModel, type ScriptedTurn } from 'loopwork/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, type Fixture, startFixture, type TransportName } from './fixture';

/** Runs an agent whose model makes `calls` (one turn each), then answers "done". */
async function runCalls(
  mcp: McpConnection,
  calls: ScriptedTurn['toolCalls'][],
  options: {
    signal?: AbortSignal;
    onEvent?: (event: AgentEvent) => void;
    maxToolResultBytes?: number;
  } = {},
) {
  const model = new ScriptedModel({
    turns: [...calls.map((toolCalls) => ({ toolCalls })), { text: 'done' }],
  });
  const result = await runAgent({ model, prompt: 'go', tools: mcp.tools, ...options });
  const results = result.state.messages
    .filter((message) => message.role === 'tool')
    .flatMap((message) => message.content as ToolResultPart[]);
  return { result, results, model };
}

describe.each<TransportName>(['stdio', 'http'])('loopwork/mcp over %s', (transport) => {
  let fixture: Fixture;
  let mcp: McpConnection;

  beforeAll(async () => {
    fixture = await startFixture(transport);
    mcp = await connectMcp({ servers: { fx: fixture.config }, callTimeoutMs: 5_000 });
  });
  afterAll(async () => {
    await mcp?.close();
    await fixture?.stop();
  });

  it('lists every tool across pages, prefixed with the server name and fitted to loopwork names', () => {
    expect(mcp.tools.map((tool) => tool.name)).toEqual([
      'fx__add',
      'fx__stats',
      'fx__media',
      'fx__locked',
      'fx__slow',
      'fx__hang',
      'fx__crash',
      'fx__flood',
      'fx__garbage',
      'fx__files_read',
    ]);
    expect(mcp.servers.get('fx')?.tools.get('fx__files_read')?.name).toBe('files.read');
    expect(mcp.tools[0]?.description).toBe('Adds two numbers');
  });

  it('runs an agent end to end: text, structured content, media described, isError as a tool error', async () => {
    const { result, results, model } = await runCalls(mcp, [
      [
        { name: 'fx__add', input: { a: 2, b: 3 } },
        { name: 'fx__stats', input: {} },
      ],
      [{ name: 'fx__media', input: {} }],
      [{ name: 'fx__locked', input: { path: '/tmp/a' } }],
    ]);
    expect(result.status).toBe('completed');
    const addSpec = model.requests[0]?.tools?.find((tool) => tool.name === 'fx__add');
    expect(addSpec?.inputSchema).toMatchObject({
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      required: ['a', 'b'],
    });
    expect(addSpec?.inputSchema).not.toHaveProperty('$schema');
    expect(results.map((part) => [part.toolName, part.isError, part.output])).toEqual([
      ['fx__add', false, '5'],
      ['fx__stats', false, '{"files":3,"bytes":1200}'],
      [
        'fx__media',
        false,
        [
          'a chart:',
          '[image: image/png, 300 bytes, not shown]',
          '[resource link: report.pdf <file:///data/report.pdf>, application/pdf]',
          '[resource <file:///notes.md> (text/markdown)]\n# Notes',
          '[resource <file:///blob.bin>: 30 bytes of binary data, not shown]',
        ].join('\n'),
      ],
      ['fx__locked', true, 'Tool "fx__locked" failed: /tmp/a is locked'],
    ]);
  });

  it('refuses invalid arguments with the JSON Schema validator, naming each field', async () => {
    const { results } = await runCalls(mcp, [[{ name: 'fx__add', input: { a: 'two', c: 1 } }]]);
    expect(results[0]).toMatchObject({
      isError: true,
      output:
        'Invalid input for tool "fx__add": b: Required property is missing; ' +
        'a: Invalid type: expected number, received string. Fix the input and call the tool again.',
    });
  });

  it('a call that hangs past its timeout becomes a tool error and the run goes on', async () => {
    const hanging = await connectMcp({
      servers: { fx: { ...fixture.config, timeoutMs: 300 } },
      connectTimeoutMs: 10_000,
    });
    try {
      const { result, results } = await runCalls(hanging, [
        [{ name: 'fx__hang', input: {} }],
        [{ name: 'fx__add', input: { a: 1, b: 1 } }],
      ]);
      expect(result.status).toBe('completed');
      expect(results[0]?.isError).toBe(true);
      expect(results[0]?.output).toMatch(/300 ms/);
      expect(results[1]).toMatchObject({ isError: false, output: '2' });
    } finally {
      await hanging.close();
    }
  });

  it('a flood is cut to maxToolResultBytes with a marker the model reads', async () => {
    const { results } = await runCalls(
      mcp,
      [[{ name: 'fx__flood', input: { bytes: 2_000_000 } }]],
      {
        maxToolResultBytes: 1_000,
      },
    );
    expect(results[0]?.isError).toBe(false);
    expect(results[0]?.output).toMatch(
      /^x{1000}\n\n\[loopwork: tool output truncated to the first 1000 of 2000000 bytes;/,
    );
  });

  it('aborting the run cancels the call in flight on the server', async () => {
    const controller = new AbortController();
    const { result } = await runCalls(mcp, [[{ name: 'fx__slow', input: { ms: 30_000 } }]], {
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === 'tool-call-started') setTimeout(() => controller.abort(), 200);
      },
    });
    expect(result.status).toBe('aborted');
    await expect.poll(() => fixture.cancellations(), { timeout: 5_000 }).toHaveLength(1);
  });

  it('a server that crashes mid-call gives a tool error saying so, and the run goes on', async () => {
    const own = await startFixture(transport);
    const crashing = await connectMcp({ servers: { fx: own.config } });
    try {
      const { result, results } = await runCalls(crashing, [
        [{ name: 'fx__crash', input: {} }],
        [{ name: 'fx__add', input: { a: 1, b: 2 } }],
      ]);
      expect(result.status).toBe('completed');
      expect(results[0]?.isError).toBe(true);
      if (transport === 'stdio') {
        expect(results[0]?.output).toBe(
          'Tool "fx__crash" failed: MCP server "fx" closed the connection during the call of "crash" ' +
            '(it may have crashed; the next call starts it again); its stderr ended with: fixture: about to crash: disk on fire',
        );
        // The next call started the server again.
        expect(results[1]).toMatchObject({ isError: false, output: '3' });
      } else {
        expect(results[0]?.output).toMatch(
          /^Tool "fx__crash" failed: MCP server "fx" dropped the connection during the call of "crash"/,
        );
        // Nothing restarts a remote server: the next call says it cannot reach it.
        expect(results[1]?.isError).toBe(true);
        expect(results[1]?.output).toMatch(/MCP server "fx" is not reachable: .*fetch failed/);
      }
    } finally {
      await crashing.close();
      await own.stop();
    }
  });

  it('a server killed (SIGKILL) mid-call gives a tool error at once, not a hung run', async () => {
    const own = await startFixture(transport);
    const killed = await connectMcp({ servers: { fx: own.config } });
    try {
      const pid = transport === 'stdio' ? killed.servers.get('fx')?.pid : own.child?.pid;
      expect(pid).toBeTypeOf('number');
      const { result, results } = await runCalls(
        killed,
        [[{ name: 'fx__slow', input: { ms: 60_000 } }]],
        {
          onEvent: (event) => {
            if (event.type === 'tool-call-started')
              setTimeout(() => process.kill(pid!, 'SIGKILL'), 300);
          },
        },
      );
      expect(result.status).toBe('completed');
      expect(results[0]?.isError).toBe(true);
      expect(results[0]?.output).toMatch(
        /^Tool "fx__slow" failed: MCP server "fx" (closed|dropped) the connection during the call of "slow"/,
      );
    } finally {
      await killed.close();
      await own.stop();
    }
  });
});

describe('loopwork/mcp over stdio only', () => {
  it('a line that is not JSON and a malformed result give a tool error naming the bad field', async () => {
    const fixture = await startFixture('stdio');
    await using mcp = await connectMcp({ servers: { fx: fixture.config } });
    const { results } = await runCalls(mcp, [[{ name: 'fx__garbage', input: {} }]]);
    expect(results[0]).toMatchObject({
      isError: true,
      output:
        'Tool "fx__garbage" failed: MCP server "fx" answered the call of "garbage" with a malformed result: ' +
        'content: Invalid input: expected array, received string',
    });
  });

  it('a message over maxMessageBytes closes the connection with an error that says so; the next call reconnects', async () => {
    const fixture = await startFixture('stdio');
    await using mcp = await connectMcp({
      servers: { fx: fixture.config },
      maxMessageBytes: 100_000,
    });
    const { results } = await runCalls(mcp, [
      [{ name: 'fx__flood', input: { bytes: 1_000_000 } }],
      [{ name: 'fx__add', input: { a: 20, b: 22 } }],
    ]);
    expect(results[0]?.isError).toBe(true);
    expect(results[0]?.output).toMatch(
      /closed the connection during the call of "flood" after a message over maxMessageBytes \(100000 bytes\)/,
    );
    expect(results[1]).toMatchObject({ isError: false, output: '42' });
  });

  it('close stops the server process, also with a call in flight, and leaves no process behind', async () => {
    const fixture = await startFixture('stdio');
    const mcp = await connectMcp({ servers: { fx: fixture.config } });
    const pid = mcp.servers.get('fx')?.pid;
    expect(pid).toBeTypeOf('number');
    expect(alive(pid!)).toBe(true);
    const slow = mcp.tools.find((tool) => tool.name === 'fx__slow')!;
    const inFlight = Promise.resolve(
      slow.execute(
        { ms: 60_000 },
        {
          runId: 'r',
          toolCallId: 't',
          idempotencyKey: 'r:t',
          turn: 1,
          signal: new AbortController().signal,
          suspend: () => {
            throw new Error('no');
          },
        },
      ),
    );
    const settled = inFlight.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await mcp.close();
    await expect(settled).resolves.toBe(
      'MCP server "fx" was closed during the call of "slow" (its connection\'s owner, a run or a worker, ended)',
    );
    expect(alive(pid!)).toBe(false);
    expect(mcp.servers.get('fx')?.pid).toBeNull();
    await mcp.close(); // idempotent
  });

  it('a command that cannot start fails connectMcp naming the server, and closes the others', async () => {
    const fixture = await startFixture('stdio');
    const failing = connectMcp({
      servers: {
        good: fixture.config,
        missing: { command: '/nonexistent/mcp-server' },
      },
    });
    await expect(failing).rejects.toThrow(
      /^\[loopwork:mcp\] cannot connect to server "missing": spawn \/nonexistent\/mcp-server ENOENT/,
    );
    // The good server was started, then stopped when the other failed.
    const [pid] = fixture.pids();
    expect(pid).toBeTypeOf('number');
    await expect.poll(() => alive(pid!), { timeout: 5_000 }).toBe(false);
  });

  it('withMcp: each run owns its connection and closes it when the run ends', async () => {
    const fixture = await startFixture('stdio');
    const pids: Array<number | null | undefined> = [];
    const runtime = withMcp({ servers: { fx: fixture.config } }, (mcp) => {
      pids.push(mcp.servers.get('fx')?.pid);
      const model = new ScriptedModel({
        turns: [{ toolCalls: [{ name: 'fx__add', input: { a: 4, b: 5 } }] }, { text: 'nine' }],
      });
      return loopRuntime({ model, tools: mcp.tools });
    });
    const run = (runId: string) =>
      runtime.run({
        runId,
        input: { prompt: 'add' },
        limits: {},
        signal: new AbortController().signal,
        emit: () => {},
        checkpoint: async () => {},
      });
    const first = await run('r1');
    const second = await run('r2');
    expect([first.status, first.output, second.status]).toEqual(['completed', 'nine', 'completed']);
    expect(pids).toHaveLength(2);
    expect(pids[0]).not.toBe(pids[1]);
    for (const pid of pids) expect(alive(pid!)).toBe(false);
  });

  it('two tools that would share a name are refused at connect, naming both, and the servers are stopped', async () => {
    const fixture = await startFixture('stdio');
    const connecting = connectMcp({
      servers: { one: fixture.config, two: fixture.config },
      toolName: (_server, tool) => tool,
    });
    await expect(connecting).rejects.toThrow(
      /tool "add" of server "two" and tool "add" of server "one" would both be called "add"/,
    );
    expect(fixture.pids()).toHaveLength(2);
    for (const pid of fixture.pids()) await expect.poll(() => alive(pid)).toBe(false);
  });
});
