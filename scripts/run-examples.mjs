#!/usr/bin/env node
// Runs every examples/*.ts; the demo.ts of each examples/<folder>/ that has one (a folder holding
// one larger example whose other files are long-running programs or modules that its demo starts);
// and every .ts of a folder without a demo.ts (a collection, as examples/runtimes/). With tsx, one
// after another; fails if any of them fails.
// Usage: node scripts/run-examples.mjs [name-filter]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const TIMEOUT_MS = 120_000;
const dir = 'examples';
const filter = process.argv[2] ?? '';
const isScript = (name) => name.endsWith('.ts') && !name.endsWith('.d.ts');
const files = existsSync(dir)
  ? readdirSync(dir, { withFileTypes: true })
      .flatMap((entry) => {
        if (entry.isFile()) return isScript(entry.name) ? [entry.name] : [];
        if (!entry.isDirectory()) return [];
        if (existsSync(join(dir, entry.name, 'demo.ts'))) return [join(entry.name, 'demo.ts')];
        return readdirSync(join(dir, entry.name))
          .filter(isScript)
          .map((name) => join(entry.name, name));
      })
      .filter((name) => name.includes(filter))
      .sort()
  : [];

if (files.length === 0) {
  console.log(
    `examples: no examples/*.ts or examples/*/*.ts${filter ? ` matching "${filter}"` : ''} to run`,
  );
  process.exit(0);
}

const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const failed = [];
for (const name of files) {
  console.log(`\n=== example: ${name} ===`);
  const started = Date.now();
  const result = spawnSync(process.execPath, [tsxCli, join(dir, name)], {
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status === 0) {
    console.log(`--- ok: ${name} (${seconds}s)`);
  } else {
    const why =
      result.error?.message ??
      (result.signal ? `signal ${result.signal}` : `exit ${result.status}`);
    console.log(`--- FAILED: ${name} (${why}, ${seconds}s)`);
    failed.push(name);
  }
}

console.log(`\nexamples: ${files.length - failed.length} of ${files.length} ran successfully`);
if (failed.length > 0) {
  console.log(`failed: ${failed.join(', ')}`);
  process.exit(1);
}
