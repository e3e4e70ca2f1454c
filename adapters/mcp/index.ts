/**
 * MCP tools for loopwork: an MCP server's tools — over stdio or streamable HTTP — as loopwork
 * tools, with connections owned by a run or a worker. Needs the optional peer dependencies
 * `@modelcontextprotocol/sdk` and `@cfworker/json-schema`.
 *
 * @packageDocumentation
 */
export { type McpCallResult, McpToolResultError, resultText } from './call-result';
export { connectMcp, type McpConnection, type McpServerHandle } from './connect-mcp';
export { withMcp } from './mcp-runtime';
export {
  type ConnectMcpOptions,
  MCP_DEFAULTS,
  type McpHttpServer,
  type McpServerCommon,
  type McpServerConfig,
  type McpStdioServer,
  type McpToolInfo,
} from './options';
export { defaultToolName, fitToolName } from './tool-names';
