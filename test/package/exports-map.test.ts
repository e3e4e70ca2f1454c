import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// tsup builds one subpath per adapters/<name>/index.ts; package.json's exports must list exactly
// those (plus the root and ./testing), or a built adapter is unreachable / an export points nowhere.
describe('package.json exports', () => {
  const exportsMap = JSON.parse(readFileSync('package.json', 'utf8')).exports as Record<
    string,
    unknown
  >;
  const adapters = readdirSync('adapters').filter((name) =>
    existsSync(`adapters/${name}/index.ts`),
  );

  it('lists one subpath per adapter folder, the root and ./testing', () => {
    const expected = ['.', './package.json', './testing', ...adapters.map((name) => `./${name}`)];
    expect(Object.keys(exportsMap).sort()).toEqual(expected.sort());
  });

  it('points every adapter subpath at its built files for both import and require', () => {
    for (const name of adapters) {
      expect(JSON.stringify(exportsMap[`./${name}`]), name).toContain(`./dist/${name}/index.js`);
      expect(JSON.stringify(exportsMap[`./${name}`]), name).toContain(`./dist/${name}/index.cjs`);
    }
  });

  // `moduleResolution: node` (node10) ignores `exports`; without typesVersions a project still on
  // it cannot resolve any subpath's types (attw's node10 column checks the built package).
  it('maps every subpath in typesVersions for projects on moduleResolution node', () => {
    const typesVersions = JSON.parse(readFileSync('package.json', 'utf8')).typesVersions as {
      '*': Record<string, string[]>;
    };
    const subpaths = Object.keys(exportsMap)
      .filter((key) => key !== '.' && key !== './package.json')
      .map((key) => key.slice(2));
    expect(Object.keys(typesVersions['*']).sort()).toEqual(subpaths.sort());
    for (const name of subpaths) {
      expect(typesVersions['*'][name], name).toEqual([`./dist/${name}/index.d.cts`]);
    }
  });
});
