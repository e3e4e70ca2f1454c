// A tiny MCP server (the SDK's McpServer over stdio) that demo.ts starts as a child process.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const notes = new Map([['groceries', 'eggs, flour, milk']]);
const server = new McpServer({ name: 'notes', version: '1.0.0' });
server.registerTool(
  'read_note',
  { description: 'Reads a note by its title', inputSchema: { title: z.string() } },
  async ({ title }) => {
    const text = notes.get(title);
    return text === undefined
      ? { isError: true, content: [{ type: 'text', text: `no note titled "${title}"` }] }
      : { content: [{ type: 'text', text }] };
  },
);
await server.connect(new StdioServerTransport());
