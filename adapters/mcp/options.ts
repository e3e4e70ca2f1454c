import { InvalidOptionError } from 'loopwork';

/** What loopwork knows of one tool an MCP server offers (from its `tools/list`). */
export interface McpToolInfo {
  /** The tool's name on its server. */
  name: string;
  title?: string | undefined;
  description?: string | undefined;
  /** Its input JSON Schema, as the server sent it. */
  inputSchema: Record<string, unknown>;
  /** Hints such as `readOnlyHint` or `destructiveHint`; not trusted, only passed on. */
  annotations?: Record<string, unknown> | undefined;
}

/** Settings every MCP server takes, whatever its transport. */
export interface McpServerCommon {
  /** Which of the server's tools to offer the model. @defaultValue all of them */
  filter?: (tool: McpToolInfo) => boolean;
  /** Time one call may take before it is cancelled and reported to the model. @defaultValue `callTimeoutMs` of {@link ConnectMcpOptions} */
  timeoutMs?: number;
}

/** An MCP server started as a child process, speaking JSON-RPC over its stdin and stdout. */
export interface McpStdioServer extends McpServerCommon {
  /** The program to run (`node`, `npx`, `uvx`, an absolute path …). */
  command: string;
  args?: string[];
  /**
   * Environment of the process, over a minimal default (`PATH`, `HOME`, `USER`, `SHELL`, `TERM`,
   * `LOGNAME`): the parent's other variables — API keys among them — are not passed on unless
   * listed here.
   */
  env?: Record<string, string>;
  cwd?: string;
}

/** An MCP server reached over streamable HTTP. */
export interface McpHttpServer extends McpServerCommon {
  /** The server's MCP endpoint (`https://example.com/mcp`). */
  url: string | URL;
  /** Headers sent with every request (`Authorization` …). */
  headers?: Record<string, string>;
  /** A `fetch` to use instead of the global one (a proxy, a test double). */
  fetch?: typeof fetch;
}

/** One MCP server: a command to start (stdio) or a URL (streamable HTTP). */
export type McpServerConfig = McpStdioServer | McpHttpServer;

/** Options of {@link connectMcp}. */
export interface ConnectMcpOptions {
  /**
   * The servers, by name. The name prefixes the server's tool names (see `toolName`) and
   * appears in every error about the server: 1–64 letters, digits, `_` or `-`.
   */
  servers: Record<string, McpServerConfig>;
  /**
   * The name the model calls a server's tool by. The result must be unique across all servers
   * and fit loopwork's rule (1–64 letters, digits, `_` or `-`); characters outside it become `_`
   * and a longer name is cut, with a hash of the full name, to 64.
   * @defaultValue `${server}__${tool}`
   */
  toolName?: (server: string, tool: string) => string;
  /** Time to start a server and finish the MCP handshake. @defaultValue 30_000 */
  connectTimeoutMs?: number;
  /** Time one tool call may take, for servers without their own `timeoutMs`. @defaultValue 60_000 */
  callTimeoutMs?: number;
  /**
   * Largest JSON-RPC message read from a stdio server, in bytes: a larger one (a flood) closes
   * the connection and fails the call in flight with a clear error. What the model sees is cut
   * further by the agent's `maxToolResultBytes`. @defaultValue 10 MiB
   */
  maxMessageBytes?: number;
  /** Aborts connecting (the servers already started are closed). */
  signal?: AbortSignal;
}

/** Defaults of {@link ConnectMcpOptions}. */
export const MCP_DEFAULTS = {
  connectTimeoutMs: 30_000,
  callTimeoutMs: 60_000,
  maxMessageBytes: 10 * 1024 * 1024,
} as const;

const SERVER_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

function positiveInteger(option: string, value: unknown): void {
  if (value !== undefined && !(Number.isInteger(value) && (value as number) > 0)) {
    throw new InvalidOptionError(
      `[loopwork:mcp] ${option} must be a positive integer, got ${JSON.stringify(value) ?? typeof value}`,
    );
  }
}

/** Throws {@link InvalidOptionError} naming the first option that cannot work. */
export function validateOptions(options: ConnectMcpOptions): void {
  const servers = options?.servers;
  if (typeof servers !== 'object' || servers === null || Object.keys(servers).length === 0) {
    throw new InvalidOptionError(
      '[loopwork:mcp] servers must name at least one server, as { name: { command } } or { name: { url } }',
    );
  }
  positiveInteger('connectTimeoutMs', options.connectTimeoutMs);
  positiveInteger('callTimeoutMs', options.callTimeoutMs);
  positiveInteger('maxMessageBytes', options.maxMessageBytes);
  for (const [name, server] of Object.entries(servers)) {
    if (!SERVER_NAME.test(name)) {
      throw new InvalidOptionError(
        `[loopwork:mcp] servers: name ${JSON.stringify(name)} is invalid; use 1-64 letters, digits, "_" or "-"`,
      );
    }
    const hasCommand = typeof (server as McpStdioServer)?.command === 'string';
    const hasUrl = (server as McpHttpServer)?.url !== undefined;
    if (hasCommand === hasUrl) {
      throw new InvalidOptionError(
        `[loopwork:mcp] servers.${name} needs either command (a stdio server) or url (a streamable HTTP server), not ${hasCommand ? 'both' : 'neither'}`,
      );
    }
    if (hasUrl) {
      try {
        new URL((server as McpHttpServer).url);
      } catch {
        throw new InvalidOptionError(
          `[loopwork:mcp] servers.${name}.url must be an absolute URL, got ${JSON.stringify(String((server as McpHttpServer).url))}`,
        );
      }
    }
    positiveInteger(`servers.${name}.timeoutMs`, server.timeoutMs);
  }
}
