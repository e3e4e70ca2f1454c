import { importOptionalPeer } from 'loopwork/adapter-kit';

/**
 * The MCP SDK modules this adapter uses. `@modelcontextprotocol/sdk` is an optional peer
 * dependency, loaded on first connect: importing `loopwork/mcp` costs nothing, and a missing
 * package is reported as what to install.
 */
export interface Peers {
  client: typeof import('@modelcontextprotocol/sdk/client/index.js');
  stdio: typeof import('@modelcontextprotocol/sdk/client/stdio.js');
  http: typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js');
  types: typeof import('@modelcontextprotocol/sdk/types.js');
  validator: typeof import('@modelcontextprotocol/sdk/validation/cfworker');
}

let loading: Promise<Peers> | undefined;

function importPeer<T>(specifier: string, load: () => Promise<T>): Promise<T> {
  return importOptionalPeer(specifier, load, {
    adapter: 'mcp',
    needs:
      'the optional peer dependencies @modelcontextprotocol/sdk and @cfworker/json-schema (its JSON Schema validator)',
    install: 'npm install @modelcontextprotocol/sdk@^1.32.2 @cfworker/json-schema@^4.1.6',
  });
}

/** Loads every peer module once (the promise is shared; a failure is retried on the next call). */
export function loadPeers(): Promise<Peers> {
  loading ??= (async () => {
    const [client, stdio, http, types, validator] = await Promise.all([
      importPeer(
        '@modelcontextprotocol/sdk',
        () => import('@modelcontextprotocol/sdk/client/index.js'),
      ),
      importPeer(
        '@modelcontextprotocol/sdk',
        () => import('@modelcontextprotocol/sdk/client/stdio.js'),
      ),
      importPeer(
        '@modelcontextprotocol/sdk',
        () => import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
      ),
      importPeer('@modelcontextprotocol/sdk', () => import('@modelcontextprotocol/sdk/types.js')),
      importPeer(
        '@cfworker/json-schema',
        () => import('@modelcontextprotocol/sdk/validation/cfworker'),
      ),
    ]);
    return { client, stdio, http, types, validator };
  })();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
