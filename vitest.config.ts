import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const fromRoot = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests import the package by its public names, served from source (no build needed).
    // Exact-match patterns, most specific first, so 'loopwork/testing' never resolves to
    // 'src/index.ts' + '/testing'. New subpaths (adapters) get a line here and in tsconfig paths.
    alias: [
      { find: /^loopwork\/testing$/, replacement: fromRoot('./src/testing/index.ts') },
      { find: /^loopwork$/, replacement: fromRoot('./src/index.ts') },
      { find: /^loopwork\/([a-z0-9-]+)$/, replacement: fromRoot('./adapters/$1/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Type tests (`expectTypeOf`) are checked by tsc as part of `vitest run`.
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: './tsconfig.typecheck.json',
    },
    // The machines have 2 cores; separate processes keep a crashed or leaky test file contained.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
