import { existsSync, readdirSync, rmSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';

// One subpath per adapter folder: adapters/<name>/index.ts → dist/<name>/index.* → loopwork/<name>.
// test/package/exports-map.test.ts checks that package.json exports lists the same subpaths.
const adapters = readdirSync('adapters').filter((name) => existsSync(`adapters/${name}/index.ts`));
const entry = {
  index: 'src/index.ts',
  'testing/index': 'src/testing/index.ts',
  ...Object.fromEntries(adapters.map((name) => [`${name}/index`, `adapters/${name}/index.ts`])),
};

const shared = {
  entry,
  outDir: 'dist',
  target: 'node20',
  platform: 'node',
  dts: true,
  sourcemap: true,
  splitting: true,
  treeshake: true,
  // The two configs below build in parallel, and tsup's per-config `clean` (including the one its
  // dts step runs) would delete the other format's fresh output. We wipe dist once, up front.
  clean: false,
  // Adapters import the core by its public name, so they share one copy of it with the
  // application (errors stay recognizable, no second bundle of the core per adapter).
  external: ['loopwork', /^loopwork\//],
} satisfies Options;

export default defineConfig(() => {
  rmSync('dist', { recursive: true, force: true });
  return [
    { ...shared, name: 'esm', format: ['esm'] },
    {
      ...shared,
      name: 'cjs',
      format: ['cjs'],
      // p-retry (and its dependency is-network-error) are ESM-only: `require()` of them fails on
      // Node 20, so the CommonJS build carries its own copy. The ESM build imports them normally.
      noExternal: ['p-retry', 'is-network-error'],
    },
    {
      // The `loopwork` bin: ESM only, no types; it loads the core and the backend's adapters by
      // their public names (a package may import itself by name), so it shares their copy.
      ...shared,
      name: 'cli',
      entry: { 'cli/main': 'cli/main.ts' },
      format: ['esm'],
      dts: false,
      splitting: false,
    },
  ];
});
