#!/usr/bin/env node
// Rewrites every included code block in README.md and docs/**/*.md (docs/api excepted) from the
// file it names, so the docs show exactly the code that CI runs. A block looks like:
//
//   <!-- include: examples/readme.ts -->
//   ```ts
//   ...the file's content...
//   ```
//   <!-- /include -->
//
// Usage: node scripts/sync-includes.mjs [--check]
//   --check  change nothing; exit 1 when a block differs from its file (what CI would catch).
// test/docs/readme-includes.test.ts checks the same thing in `npm test`.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const check = process.argv.includes('--check');
const BLOCK = /^<!-- include: (\S+) -->\r?\n```([\w-]*)\r?\n[\s\S]*?```\r?\n<!-- \/include -->$/gm;
const OPENING = /^<!-- include: (\S+) -->$/gm;
const FENCE_LANGUAGE = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.js': 'js',
  '.mjs': 'js',
  '.json': 'json',
  '.sh': 'sh',
};

function markdownFiles() {
  const files = [join(root, 'README.md')].filter((file) => existsSync(file));
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && path !== join(root, 'docs', 'api')) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.md')) files.push(path);
    }
  };
  if (existsSync(join(root, 'docs'))) walk(join(root, 'docs'));
  return files;
}

const problems = [];
let changedFiles = 0;
for (const doc of markdownFiles()) {
  const name = relative(root, doc);
  const text = readFileSync(doc, 'utf8');
  const openings = [...text.matchAll(OPENING)].length;
  const blocks = [...text.matchAll(BLOCK)].length;
  if (openings !== blocks) {
    problems.push(
      `${name}: ${openings - blocks} include marker(s) not followed by a code block and <!-- /include -->`,
    );
    continue;
  }
  const synced = text.replace(BLOCK, (block, file, language) => {
    const source = join(root, file);
    if (!existsSync(source)) {
      problems.push(`${name}: included file ${file} does not exist`);
      return block;
    }
    const fence = language || FENCE_LANGUAGE[extname(file)] || '';
    const content = readFileSync(source, 'utf8').trim();
    return `<!-- include: ${file} -->\n\`\`\`${fence}\n${content}\n\`\`\`\n<!-- /include -->`;
  });
  if (synced !== text) {
    changedFiles++;
    if (check) problems.push(`${name}: included blocks are out of date`);
    else writeFileSync(doc, synced);
    console.log(`${check ? 'out of date' : 'updated'}: ${name}`);
  }
}

for (const problem of problems) console.error(`sync-includes: ${problem}`);
if (problems.length > 0) {
  if (check)
    console.error('sync-includes: run `node scripts/sync-includes.mjs` to update the docs');
  process.exit(1);
}
if (changedFiles === 0) console.log('sync-includes: every included block matches its file');
