// An agent using the tools of an MCP server: loopwork/mcp starts the server (notes-server.ts)
// over stdio, offers its tools to the model as `notes__<tool>`, and stops it at the end.
// Runs offline: the model is scripted.
import { fileURLToPath } from 'node:url';
import { runAgent } from 'loopwork';
import { connectMcp } from 'loopwork/mcp';
import { ScriptedModel } from 'loopwork/testing';

const server = fileURLToPath(new URL('./notes-server.ts', import.meta.url));

await using mcp = await connectMcp({
  servers: { notes: { command: process.execPath, args: ['--import', 'tsx', server] } },
  callTimeoutMs: 10_000,
});
console.log('tools:', mcp.tools.map((tool) => tool.name).join(', '));

const model = new ScriptedModel({
  turns: [
    { toolCalls: [{ name: 'notes__read_note', input: { title: 42 } }] }, // invalid: refused before the server
    { toolCalls: [{ name: 'notes__read_note', input: { title: 'todo' } }] }, // the server says isError
    { toolCalls: [{ name: 'notes__read_note', input: { title: 'groceries' } }] },
    { text: 'You need eggs, flour and milk.' },
  ],
});
const result = await runAgent({ model, prompt: 'What do I need to buy?', tools: mcp.tools });
for (const message of result.state.messages) {
  if (message.role !== 'tool') continue;
  for (const part of message.content) {
    if (part.type === 'tool-result') console.log(part.isError ? 'error: ' : 'result:', part.output);
  }
}
console.log(result.status, '-', result.text);
if (result.status !== 'completed') process.exit(1);
