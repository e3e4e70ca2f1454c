import { type AnyTool, InvalidOptionError, jsonSchemaTool } from 'loopwork';
import { type ConnectMcpOptions, MCP_DEFAULTS, type McpToolInfo, validateOptions } from './options';
import { loadPeers } from './peers';
import { ServerConnection } from './server-connection';
import { defaultToolName, ToolNames } from './tool-names';

/** One connected server, as {@link McpConnection.servers} lists it. */
export interface McpServerHandle {
  readonly name: string;
  /** The tools offered from it, by the name the model calls them. */
  readonly tools: ReadonlyMap<string, McpToolInfo>;
  /** Its process id while it runs (stdio servers); `null` for HTTP or once stopped. */
  readonly pid: number | null;
}

/**
 * Open connections to MCP servers and their tools as loopwork tools. Close it when its owner
 * (the run, the worker) ends: `close()`, or `await using` (`Symbol.asyncDispose`).
 */
export interface McpConnection extends AsyncDisposable {
  /** Every offered tool of every server, ready for `runAgent({ tools })`. */
  readonly tools: AnyTool[];
  /** The servers, by name. */
  readonly servers: ReadonlyMap<string, McpServerHandle>;
  /** Closes every connection and stops every server process; calls in flight fail. Idempotent. */
  close(): Promise<void>;
}

/**
 * Connects to MCP servers — child processes over stdio, or URLs over streamable HTTP — and turns
 * their tools into loopwork tools: named `${server}__${tool}`, described and validated by the
 * server's JSON Schema, each call cancelled by the run's signal and bounded by a timeout. A
 * result with `isError`, a server that crashes, hangs or sends something unreadable becomes a
 * tool error the model reads; a server lost between calls is started again on the next one.
 *
 * All servers connect at once; if one fails, the others are closed and the error names it.
 *
 * @example
 * ```ts
 * await using mcp = await connectMcp({
 *   servers: {
 *     files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv/data'] },
 *     search: { url: 'https://search.example.com/mcp', headers: { Authorization: `Bearer ${token}` } },
 *   },
 * });
 * const result = await runAgent({ model, prompt: 'Summarize /srv/data/notes.md', tools: mcp.tools });
 * ```
 */
export async function connectMcp(options: ConnectMcpOptions): Promise<McpConnection> {
  validateOptions(options);
  const peers = await loadPeers();
  const settings = {
    connectTimeoutMs: options.connectTimeoutMs ?? MCP_DEFAULTS.connectTimeoutMs,
    maxMessageBytes: options.maxMessageBytes ?? MCP_DEFAULTS.maxMessageBytes,
  };
  const connections = Object.entries(options.servers).map(
    ([name, config]) => new ServerConnection(name, config, settings, peers),
  );
  const closeAll = () => Promise.all(connections.map((connection) => connection.close()));
  let listed: McpToolInfo[][];
  try {
    listed = await Promise.all(
      connections.map((connection) => connection.listTools(options.signal)),
    );
  } catch (error) {
    await closeAll();
    throw error;
  }
  const names = new ToolNames(options.toolName ?? defaultToolName);
  const tools: AnyTool[] = [];
  const servers = new Map<string, McpServerHandle>();
  try {
    connections.forEach((connection, index) => {
      const config = options.servers[connection.name]!;
      const timeoutMs = config.timeoutMs ?? options.callTimeoutMs ?? MCP_DEFAULTS.callTimeoutMs;
      const offered = new Map<string, McpToolInfo>();
      for (const info of listed[index] ?? []) {
        if (config.filter && !config.filter(info)) continue;
        const name = names.claim(connection.name, info.name);
        offered.set(name, info);
        tools.push(toolOf(connection, info, name, timeoutMs));
      }
      servers.set(connection.name, {
        name: connection.name,
        tools: offered,
        get pid() {
          return connection.pid;
        },
      });
    });
  } catch (error) {
    await closeAll();
    throw error;
  }
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= closeAll().then(() => {});
    return closing;
  };
  return { tools, servers, close, [Symbol.asyncDispose]: close };
}

function toolOf(
  connection: ServerConnection,
  info: McpToolInfo,
  name: string,
  timeoutMs: number,
): AnyTool {
  const schema = info.inputSchema;
  if (typeof schema !== 'object' || schema === null || schema.type !== 'object') {
    throw new InvalidOptionError(
      `[loopwork:mcp] tool "${info.name}" of server "${connection.name}" has an input schema that is not of type "object"; leave it out with filter`,
    );
  }
  try {
    return jsonSchemaTool({
      name,
      description:
        info.description ?? info.title ?? `Tool "${info.name}" of MCP server "${connection.name}"`,
      inputSchema: schema,
      timeoutMs,
      execute: (input, context) => connection.call(info.name, input, context.signal, timeoutMs),
    });
  } catch (error) {
    throw new InvalidOptionError(
      `[loopwork:mcp] tool "${info.name}" of server "${connection.name}": ${(error as Error).message}; leave it out with filter`,
    );
  }
}
