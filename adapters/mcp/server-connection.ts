import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type McpCallResult, resultText } from './call-result';
import { watchingFetch } from './http-fetch';
import type { McpHttpServer, McpServerConfig, McpStdioServer, McpToolInfo } from './options';
import type { Peers } from './peers';

/** Settings of one connection, from {@link ConnectMcpOptions} with defaults applied. */
export interface ConnectionSettings {
  connectTimeoutMs: number;
  maxMessageBytes: number;
}

const STDERR_TAIL = 2_000;
/** A server that keeps answering with a next cursor is cut off here (no run waits forever). */
const MAX_TOOL_PAGES = 100;

const isStdio = (config: McpServerConfig): config is McpStdioServer => 'command' in config;

/**
 * One MCP server: its client, the process behind it (stdio), and the last words it said on
 * stderr, to explain a crash. A connection lost while it is in use (the process crashed, the
 * HTTP session ended) is opened again on the next call, so a worker that owns it survives a
 * server restart; the tool names stay those of the first listing.
 */
export class ServerConnection {
  private client: Client | undefined;
  private opening: Promise<Client> | undefined;
  private closed = false;
  private everConnected = false;
  private stderrTail = '';
  private overflowed = false;
  private stdioPid: number | null = null;
  private readonly dropWaiters = new Set<() => void>();

  constructor(
    readonly name: string,
    private readonly config: McpServerConfig,
    private readonly settings: ConnectionSettings,
    private readonly peers: Peers,
  ) {}

  /** The server process's pid, for a stdio server that is running; `null` otherwise. */
  get pid(): number | null {
    return this.client ? this.stdioPid : null;
  }

  /** Connects (or reconnects after a loss); concurrent callers share one attempt. */
  async connect(signal?: AbortSignal): Promise<Client> {
    if (this.closed) throw new Error(`MCP server "${this.name}" is closed`);
    if (this.client) return this.client;
    this.opening ??= this.open(signal).finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  /** Every tool of the server, following `tools/list` pagination. */
  async listTools(signal?: AbortSignal): Promise<McpToolInfo[]> {
    const client = await this.connect(signal);
    const tools: McpToolInfo[] = [];
    const cursors = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const listed = await client.listTools(cursor === undefined ? {} : { cursor }, {
        ...(signal ? { signal } : {}),
        timeout: this.settings.connectTimeoutMs,
      });
      tools.push(...(listed.tools as McpToolInfo[]));
      cursor = listed.nextCursor;
      if (cursor === undefined) return tools;
      if (cursors.has(cursor)) break;
      cursors.add(cursor);
    }
    throw new Error(
      `[loopwork:mcp] server "${this.name}" kept paginating tools/list (a cursor repeated, or over ${MAX_TOOL_PAGES} pages)`,
    );
  }

  /** Calls `tool`; resolves with the text the model sees, or throws an error written for it. */
  async call(tool: string, args: unknown, signal: AbortSignal, timeoutMs: number): Promise<string> {
    let client: Client;
    try {
      client = await this.connect(signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new Error(`MCP server "${this.name}" is not reachable: ${messageOf(error)}`);
    }
    // Aborted by the run's signal, or when the server drops the call (below): either way the
    // SDK stops waiting and tells the server the request is cancelled.
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let fail = (_error: Error) => {};
    const lost = new Promise<never>((_, reject) => {
      fail = (error) => {
        controller.abort(error);
        reject(error);
      };
    });
    const waiter = () => fail(this.droppedError(tool));
    this.dropWaiters.add(waiter);
    let result: McpCallResult;
    try {
      result = (await Promise.race([
        client.callTool({ name: tool, arguments: args as Record<string, unknown> }, undefined, {
          signal: controller.signal,
          timeout: timeoutMs,
        }),
        lost,
      ])) as McpCallResult;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof Error && error.message.startsWith(`MCP server "${this.name}" dropped`)) {
        throw error;
      }
      throw this.callError(error, tool, timeoutMs);
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.dropWaiters.delete(waiter);
    }
    return resultText(result);
  }

  /** The HTTP server dropped a call's response stream: fail the calls in flight, reconnect on the next. */
  private dropped(client: Client): void {
    if (this.client === client) {
      this.client = undefined;
      client.close().catch(() => {});
    }
    for (const waiter of [...this.dropWaiters]) waiter();
  }

  private droppedError(tool: string): Error {
    return new Error(
      `MCP server "${this.name}" dropped the connection during the call of "${tool}" (it may have crashed or restarted; the next call connects again)`,
    );
  }

  /** Closes the client and stops the process (stdin closed, then SIGTERM, then SIGKILL). */
  async close(): Promise<void> {
    this.closed = true;
    const client = this.client ?? (await this.opening?.catch(() => undefined));
    this.client = undefined;
    await client?.close();
  }

  private async open(signal: AbortSignal | undefined): Promise<Client> {
    const { Client } = this.peers.client;
    const client = new Client(
      { name: 'loopwork', version: '1' },
      { jsonSchemaValidator: new this.peers.validator.CfWorkerJsonSchemaValidator() },
    );
    const transport = this.transport(() => this.dropped(client));
    this.overflowed = false;
    client.onerror = (error) => {
      // The SDK's stdio transport reports a message over its buffer limit, then closes; later
      // errors (the rest of the flood, unparseable) must not hide why.
      if (/exceeded maximum size/.test(error.message)) this.overflowed = true;
    };
    client.onclose = () => {
      if (this.client === client) this.client = undefined;
    };
    try {
      await client.connect(transport, {
        ...(signal ? { signal } : {}),
        timeout: this.settings.connectTimeoutMs,
      });
    } catch (error) {
      await client.close().catch(() => {});
      if (signal?.aborted) throw signal.reason;
      const again = this.everConnected ? ' again (it was lost)' : '';
      throw new Error(
        `[loopwork:mcp] cannot connect to server "${this.name}"${again}: ${messageOf(error)}${this.stderrNote()}`,
      );
    }
    if (this.closed) {
      await client.close();
      throw new Error(`MCP server "${this.name}" is closed`);
    }
    this.everConnected = true;
    this.client = client;
    return client;
  }

  private transport(onCallStreamLost: () => void): Transport {
    if (isStdio(this.config)) {
      const { command, args, env, cwd } = this.config;
      const transport = new this.peers.stdio.StdioClientTransport({
        command,
        ...(args ? { args } : {}),
        ...(env ? { env } : {}),
        ...(cwd ? { cwd } : {}),
        stderr: 'pipe',
        maxBufferSize: this.settings.maxMessageBytes,
      });
      // Read stderr from the start: an unread pipe would block a chatty server once it fills.
      transport.stderr?.on('data', (chunk: Buffer) => {
        this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
      });
      const start = transport.start.bind(transport);
      transport.start = async () => {
        await start();
        this.stdioPid = transport.pid;
      };
      return transport;
    }
    const { url, headers, fetch } = this.config as McpHttpServer;
    return new this.peers.http.StreamableHTTPClientTransport(new URL(url), {
      ...(headers ? { requestInit: { headers } } : {}),
      fetch: watchingFetch(fetch ?? globalThis.fetch, onCallStreamLost),
    });
  }

  /** A failed call as the model should read it: what happened, and what the server said last. */
  private callError(error: unknown, tool: string, timeoutMs: number): Error {
    if (this.closed) {
      return new Error(
        `MCP server "${this.name}" was closed during the call of "${tool}" (its connection's owner, a run or a worker, ended)`,
      );
    }
    const { ErrorCode, McpError } = this.peers.types;
    const code = error instanceof McpError ? error.code : undefined;
    if (code === ErrorCode.RequestTimeout) {
      return new Error(
        `MCP server "${this.name}" did not answer the call of "${tool}" within ${timeoutMs} ms; the call was cancelled`,
      );
    }
    if (code === ErrorCode.ConnectionClosed) {
      const flood = this.overflowed
        ? ` after a message over maxMessageBytes (${this.settings.maxMessageBytes} bytes)`
        : '';
      return new Error(
        `MCP server "${this.name}" closed the connection during the call of "${tool}"${flood} (it may have crashed; the next call starts it again)${this.stderrNote()}`,
      );
    }
    if (code !== undefined) {
      return new Error(
        `MCP server "${this.name}" refused the call of "${tool}": ${messageOf(error)}`,
      );
    }
    const issues = (error as { issues?: unknown } | null)?.issues;
    if (Array.isArray(issues)) {
      return new Error(
        `MCP server "${this.name}" answered the call of "${tool}" with a malformed result: ${describeZodIssues(issues)}`,
      );
    }
    return new Error(
      `MCP server "${this.name}": the call of "${tool}" failed: ${messageOf(error)}`,
    );
  }

  private stderrNote(): string {
    const tail = this.stderrTail.trim();
    return tail === '' ? '' : `; its stderr ended with: ${tail.slice(-500)}`;
  }
}

/** An error's message, with its cause's (`fetch failed` alone says nothing). */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}

function describeZodIssues(issues: ReadonlyArray<{ path?: unknown; message?: unknown }>): string {
  return issues
    .map((issue) => {
      const path = Array.isArray(issue.path) ? issue.path.join('.') : '';
      return path ? `${path}: ${String(issue.message)}` : String(issue.message);
    })
    .join('; ');
}
