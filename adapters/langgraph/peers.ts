import { importOptionalPeer } from 'loopwork/adapter-kit';

/**
 * The LangChain and LangGraph modules this adapter uses. They are optional peer dependencies,
 * loaded on first use: importing `loopwork/langgraph` costs nothing, and a missing package is
 * reported as what to install instead of Node's bare "Cannot find module".
 */
export interface Peers {
  chatModels: typeof import('@langchain/core/language_models/chat_models');
  messages: typeof import('@langchain/core/messages');
  outputs: typeof import('@langchain/core/outputs');
  tools: typeof import('@langchain/core/tools');
  runnables: typeof import('@langchain/core/runnables');
  dispatch: typeof import('@langchain/core/callbacks/dispatch');
  functionCalling: typeof import('@langchain/core/utils/function_calling');
  langgraph: typeof import('@langchain/langgraph');
  prebuilt: typeof import('@langchain/langgraph/prebuilt');
}

const INSTALL = 'npm install @langchain/langgraph@^1.7.3 @langchain/core@^1.4.0';

let loading: Promise<Peers> | undefined;

/**
 * Imports one peer module; a missing package becomes an error that says what to install.
 * Exported for its test.
 */
export function importPeer<T>(specifier: string, load: () => Promise<T>): Promise<T> {
  return importOptionalPeer(specifier, load, {
    adapter: 'langgraph',
    needs: 'the optional peer dependencies @langchain/langgraph and @langchain/core',
    install: INSTALL,
  });
}

/** Loads every peer module once (the promise is shared; a failure is retried on the next call). */
export function loadPeers(): Promise<Peers> {
  loading ??= (async () => {
    const [
      chatModels,
      messages,
      outputs,
      tools,
      runnables,
      dispatch,
      functionCalling,
      langgraph,
      prebuilt,
    ] = await Promise.all([
      importPeer('@langchain/core', () => import('@langchain/core/language_models/chat_models')),
      importPeer('@langchain/core', () => import('@langchain/core/messages')),
      importPeer('@langchain/core', () => import('@langchain/core/outputs')),
      importPeer('@langchain/core', () => import('@langchain/core/tools')),
      importPeer('@langchain/core', () => import('@langchain/core/runnables')),
      importPeer('@langchain/core', () => import('@langchain/core/callbacks/dispatch')),
      importPeer('@langchain/core', () => import('@langchain/core/utils/function_calling')),
      importPeer('@langchain/langgraph', () => import('@langchain/langgraph')),
      importPeer('@langchain/langgraph', () => import('@langchain/langgraph/prebuilt')),
    ]);
    return {
      chatModels,
      messages,
      outputs,
      tools,
      runnables,
      dispatch,
      functionCalling,
      langgraph,
      prebuilt,
    };
  })();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

/** Memoizes `make(peers)` per peers object: classes built on the peers' base classes, once. */
export function perPeers<T>(make: (peers: Peers) => T): (peers: Peers) => T {
  const made = new WeakMap<Peers, T>();
  return (peers) => {
    let value = made.get(peers);
    if (value === undefined) {
      value = make(peers);
      made.set(peers, value);
    }
    return value;
  };
}
