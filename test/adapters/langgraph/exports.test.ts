// The public surface of loopwork/langgraph, spelled out: changing it must be a deliberate edit.
import * as langgraph from 'loopwork/langgraph';
import { expect, it } from 'vitest';

it("'loopwork/langgraph' exports exactly the listed names", () => {
  expect(Object.keys(langgraph).sort()).toEqual(
    [
      'LANGGRAPH_DEFAULTS',
      'budgetedChatModel',
      'langChainTools',
      'langGraphRuntime',
      'loopworkCheckpointer',
      'scriptedChatModel',
    ].sort(),
  );
  for (const [name, value] of Object.entries(langgraph)) expect(value, name).toBeDefined();
});
