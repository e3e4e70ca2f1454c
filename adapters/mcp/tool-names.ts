import { createHash } from 'node:crypto';
import { InvalidOptionError } from 'loopwork';

const VALID = /^[a-zA-Z0-9_-]{1,64}$/;

/** `${server}__${tool}`: the server's name keeps tools of different servers apart. */
export const defaultToolName = (server: string, tool: string): string => `${server}__${tool}`;

/**
 * `name` made to fit loopwork's tool name rule: characters outside `[a-zA-Z0-9_-]` (MCP allows
 * `.` and more) become `_`, and a name over 64 characters keeps its first 55 and a hash of the
 * whole, so two long names that share a beginning stay apart.
 */
export function fitToolName(name: string): string {
  if (VALID.test(name)) return name;
  const replaced = name.replace(/[^a-zA-Z0-9_-]/g, '_') || '_';
  if (replaced.length <= 64) return replaced;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${replaced.slice(0, 55)}_${hash}`;
}

/**
 * Hands out the names the model sees, refusing a second tool under a name already given (two
 * servers whose names collide under a custom `toolName`, or two tool names that differ only in
 * characters replaced by `fitToolName`).
 */
export class ToolNames {
  private readonly taken = new Map<string, string>();

  constructor(private readonly naming: (server: string, tool: string) => string) {}

  /** The model-facing name of `tool` of `server`. */
  claim(server: string, tool: string): string {
    const raw = this.naming(server, tool);
    if (typeof raw !== 'string') {
      throw new InvalidOptionError(
        `[loopwork:mcp] toolName must return a string, got ${typeof raw} for tool "${tool}" of server "${server}"`,
      );
    }
    const name = fitToolName(raw);
    const holder = this.taken.get(name);
    const self = `tool "${tool}" of server "${server}"`;
    if (holder) {
      throw new InvalidOptionError(
        `[loopwork:mcp] ${self} and ${holder} would both be called "${name}"; ` +
          'give a toolName that keeps them apart (the default prefixes each tool with its server name), or leave one out with filter',
      );
    }
    this.taken.set(name, self);
    return name;
  }
}
