/** The parts of an MCP `CallToolResult` loopwork reads (the SDK's type is wider). */
export interface McpCallResult {
  content?: ReadonlyArray<Record<string, unknown>>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** A tool result of the server that says the call failed (`isError: true`), with its text. */
export class McpToolResultError extends Error {
  constructor(message: string) {
    super(message);
    // The loop writes "Tool "x" failed: <message>" for an error named "Error": keep that form.
    this.name = 'Error';
  }
}

const approximateBytes = (base64: unknown) =>
  typeof base64 === 'string' ? Math.floor((base64.length * 3) / 4) : 0;

/** One content block as text the model reads; binary data is described, not sent. */
function blockText(block: Record<string, unknown>): string {
  switch (block.type) {
    case 'text':
      return String(block.text ?? '');
    case 'image':
    case 'audio':
      return `[${block.type}: ${String(block.mimeType ?? 'unknown type')}, ${approximateBytes(block.data)} bytes, not shown]`;
    case 'resource_link': {
      const title = block.title ?? block.name;
      const mime = block.mimeType ? `, ${String(block.mimeType)}` : '';
      return `[resource link: ${String(title ?? '')} <${String(block.uri)}>${mime}]`;
    }
    case 'resource': {
      const resource = (block.resource ?? {}) as Record<string, unknown>;
      const mime = resource.mimeType ? ` (${String(resource.mimeType)})` : '';
      if (typeof resource.text === 'string') {
        return `[resource <${String(resource.uri)}>${mime}]\n${resource.text}`;
      }
      return `[resource <${String(resource.uri)}>${mime}: ${approximateBytes(resource.blob)} bytes of binary data, not shown]`;
    }
    default:
      return `[${String(block.type)} content, not shown]`;
  }
}

/**
 * The text the model sees for a tool result: its content blocks in order (text as is, images,
 * audio and binary resources described), or its `structuredContent` as JSON when it has no
 * content. Throws {@link McpToolResultError} for a result with `isError`, so the loop reports
 * it to the model as a failed call.
 */
export function resultText(result: McpCallResult): string {
  const blocks = Array.isArray(result.content) ? result.content : [];
  let text = blocks.map(blockText).join('\n');
  if (text === '' && result.structuredContent !== undefined) {
    text = JSON.stringify(result.structuredContent);
  }
  if (result.isError) {
    throw new McpToolResultError(
      text === '' ? 'the server reported an error without a message' : text,
    );
  }
  return text === '' ? '(the tool returned no content)' : text;
}
