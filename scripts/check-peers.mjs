#!/usr/bin/env node
// After `npm run build`: installs the built package, with its dependencies but none of its optional
// peers, into a temporary project, and checks that importing (and requiring) each adapter whose peer
// is missing fails with loopwork's error naming what to install, not Node's bare
// ERR_MODULE_NOT_FOUND; and that the root still loads. `npm run check:peers`.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = process.cwd();
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const project = mkdtempSync(join(tmpdir(), 'loopwork-peers-'));
const modules = join(project, 'node_modules');
const failures = [];
try {
  const self = join(modules, 'loopwork');
  mkdirSync(self, { recursive: true });
  cpSync('package.json', join(self, 'package.json'));
  cpSync('dist', join(self, 'dist'), { recursive: true });
  // The package's own dependencies (and theirs), linked from this checkout's node_modules.
  const pending = Object.keys(pkg.dependencies ?? {});
  const linked = new Set();
  while (pending.length > 0) {
    const name = pending.pop();
    if (linked.has(name)) continue;
    linked.add(name);
    const source = resolve(root, 'node_modules', name);
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(source, join(modules, name), 'dir');
    const manifest = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8'));
    pending.push(...Object.keys(manifest.dependencies ?? {}));
  }

  const run = (code, type) =>
    spawnSync(process.execPath, [`--input-type=${type}`, '-e', code], {
      cwd: project,
      encoding: 'utf8',
    });
  const rootLoads = run("await import('loopwork'); console.log('ok')", 'module');
  if (rootLoads.stdout.trim() !== 'ok')
    failures.push(`loopwork itself does not load: ${rootLoads.stderr}`);

  const guarded = readdirSync('dist').filter((name) => existsSync(join('dist', name, 'impl.js')));
  if (guarded.length === 0) failures.push('no adapter is guarded: was `npm run build` run?');
  for (const name of guarded) {
    const expected = new RegExp(
      `\\[loopwork:${name}\\] cannot load .*loopwork/${name} needs .*\\(npm install `,
    );
    const esm = run(
      `try { await import('loopwork/${name}'); console.log('loaded') } catch (e) { console.log(e.code, e.message) }`,
      'module',
    );
    const cjs = run(
      `try { require('loopwork/${name}'); console.log('loaded') } catch (e) { console.log(e.code, e.message) }`,
      'commonjs',
    );
    for (const [kind, result] of [
      ['import', esm],
      ['require', cjs],
    ]) {
      const said = result.stdout.trim();
      if (!expected.test(said) || !said.startsWith('invalid_option')) {
        failures.push(
          `${kind}('loopwork/${name}') without its peer said: ${said || result.stderr}`,
        );
      } else {
        console.log(`${kind}('loopwork/${name}'): ${said.split('\n')[0]}`);
      }
    }
  }
} finally {
  rmSync(project, { recursive: true, force: true });
}
if (failures.length > 0) {
  console.error(failures.join('\n'));
  process.exit(1);
}
