import type { Runtime } from 'loopwork';
import { connectMcp, type McpConnection } from './connect-mcp';
import type { ConnectMcpOptions } from './options';

/**
 * A {@link Runtime} whose every run owns its MCP connections: each run (each attempt under a
 * worker) connects to the servers, builds its runtime from their tools, and closes them when it
 * ends — completed, failed, aborted or thrown. Cancelling the run cancels connecting too. A
 * server that cannot be reached fails the attempt, which the worker retries.
 *
 * For connections shared by every run of a worker, call {@link connectMcp} once instead, pass
 * its tools to `agentTask`, and close it after the worker stops.
 *
 * @example
 * ```ts
 * const runtime = withMcp({ servers: { files: { command: 'node', args: ['files-server.js'] } } }, (mcp) =>
 *   loopRuntime({ model, tools: [...myTools, ...mcp.tools], maxTurns: 20 }),
 * );
 * const assistant = runtimeTask({ type: 'assistant', checkpoints, runtime });
 * ```
 */
export function withMcp(
  options: Omit<ConnectMcpOptions, 'signal'>,
  build: (mcp: McpConnection) => Runtime,
): Runtime {
  return {
    specificationVersion: 'loopwork.runtime.v1',
    name: 'loopwork+mcp',
    async run(runOptions) {
      const mcp = await connectMcp({ ...options, signal: runOptions.signal });
      try {
        return await build(mcp).run(runOptions);
      } finally {
        await mcp.close();
      }
    },
  };
}
