import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Docs cannot rot: every code block between `<!-- include: path -->` and `<!-- /include -->` in
// README.md and docs/**/*.md must equal the named file, which CI type-checks and runs.
// `node scripts/sync-includes.mjs` rewrites the blocks from the files.

const root = fileURLToPath(new URL('../..', import.meta.url));
const OPENING = /^<!-- include: (\S+) -->$/gm;
const BLOCK = /^<!-- include: (\S+) -->\r?\n```[\w-]*\r?\n([\s\S]*?)```\r?\n<!-- \/include -->$/gm;

function markdownFiles(): string[] {
  const files = existsSync(join(root, 'README.md')) ? [join(root, 'README.md')] : [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && path !== join(root, 'docs', 'api')) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.md')) files.push(path);
    }
  };
  if (existsSync(join(root, 'docs'))) walk(join(root, 'docs'));
  return files;
}

const docs = markdownFiles().map((path) => ({
  name: relative(root, path),
  text: readFileSync(path, 'utf8'),
}));
const includes = docs.flatMap(({ name, text }) =>
  [...text.matchAll(BLOCK)].map((match) => ({ doc: name, file: match[1]!, block: match[2]! })),
);

describe('included code blocks', () => {
  it('README.md includes examples/readme.ts', () => {
    expect(includes.filter((i) => i.doc === 'README.md').map((i) => i.file)).toContain(
      'examples/readme.ts',
    );
  });

  it.each(docs.map((doc) => [doc.name, doc.text] as const))(
    '%s: every include marker opens a code block closed by <!-- /include -->',
    (_name, text) => {
      expect([...text.matchAll(BLOCK)].length).toBe([...text.matchAll(OPENING)].length);
    },
  );

  it.each(includes.map((i) => [i.doc, i.file, i.block] as const))(
    '%s shows %s verbatim',
    (_doc, file, block) => {
      const path = join(root, file);
      expect(existsSync(path), `${file} does not exist`).toBe(true);
      expect(block.trim(), 'out of date: run `node scripts/sync-includes.mjs`').toBe(
        readFileSync(path, 'utf8').trim(),
      );
    },
  );
});
