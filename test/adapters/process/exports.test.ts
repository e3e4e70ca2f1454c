// The public surface of loopwork/process, spelled out: changing it must be a deliberate edit.
import * as processExports from 'loopwork/process';
import { expect, it } from 'vitest';

it("'loopwork/process' exports exactly the listed names", () => {
  expect(Object.keys(processExports).sort()).toEqual(
    [
      'NDJSON_PROTOCOL',
      'PROCESS_DEFAULTS',
      'PROCESS_FORMATS',
      'claudeStreamJson',
      'codexExecJson',
      'loopworkNdjson',
      'processRuntime',
      'processTask',
      'responsesBudgetProxy',
    ].sort(),
  );
  for (const [name, value] of Object.entries(processExports)) expect(value, name).toBeDefined();
});
