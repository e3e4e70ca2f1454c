// The built bin in an install without ioredis or pg: it must say what to install (exit 4), not
// print Node's bare ERR_MODULE_NOT_FOUND.
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assertBuilt, cli } from './helpers';

let dir: string;

beforeAll(() => {
  assertBuilt();
  // A copy (not a symlink: Node would resolve it back into this repository's node_modules) of
  // the package with its own dependencies only, as `npm install loopwork` leaves it.
  dir = mkdtempSync(join(tmpdir(), 'loopwork-bare-'));
  const pkg = join(dir, 'node_modules', 'loopwork');
  mkdirSync(pkg, { recursive: true });
  cpSync('package.json', join(pkg, 'package.json'));
  cpSync('dist', join(pkg, 'dist'), { recursive: true });
  for (const dependency of ['zod', 'eventemitter3', 'p-retry', 'is-network-error']) {
    symlinkSync(resolve('node_modules', dependency), join(dir, 'node_modules', dependency));
  }
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it.each([
  ['redis://127.0.0.1:1', 'ioredis'],
  ['postgres://127.0.0.1:1/db', 'pg'],
])('%s without %s installed: exit 4 and the install command', async (url, peer) => {
  const bin = join(dir, 'node_modules', 'loopwork', 'dist', 'cli', 'main.js');
  const result = await cli(['runs', 'list', '--url', url], {}, bin);
  expect(result.code).toBe(4);
  expect(result.stderr).toContain(
    `need the package "${peer}", which is not installed: npm install ${peer}`,
  );
  expect(result.stderr).not.toContain('ERR_MODULE_NOT_FOUND');
});
