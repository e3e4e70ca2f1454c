// The working directory travels with a process task through loopwork's git-bundle helpers: the
// agent's uncommitted file is bundled at its checkpoints, and a follow-up on a machine whose
// directory is empty finds it restored.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryBlobStore } from 'loopwork';
import { processRuntime } from 'loopwork/process';
import { expect, it } from 'vitest';
import { runOnce } from './run-helpers';

const line = (value: unknown) =>
  `process.stdout.write(${JSON.stringify(`${JSON.stringify(value)}\n`)});`;

it('a follow-up on an empty directory finds the files the first run left (git bundle)', {
  timeout: 60_000,
}, async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'loopwork-workdir-')), 'repo');
  execFileSync('git', ['init', '-q', dir]);
  writeFileSync(join(dir, 'README.md'), 'hello\n');
  execFileSync('git', ['-C', dir, 'add', '.']);
  execFileSync('git', [
    '-C',
    dir,
    '-c',
    'user.name=t',
    '-c',
    'user.email=t@t',
    'commit',
    '-qm',
    'init',
  ]);
  const blobs = createMemoryBlobStore();
  // The agent reads notes.txt if it is there, then writes the next line into it.
  const agent = `
    const fs = require('node:fs');
    const before = fs.existsSync('notes.txt') ? fs.readFileSync('notes.txt', 'utf8') : '';
    fs.writeFileSync('notes.txt', before + 'line\\n');
    ${line({ type: 'checkpoint', handle: { step: 1 } })}
    process.stdout.write(JSON.stringify({ type: 'result', output: 'had ' + before.split('\\n').filter(Boolean).length + ' lines' }) + '\\n');`;
  const runtime = processRuntime({
    command: process.execPath,
    args: ['-e', agent],
    cwd: dir,
    workdir: { blobs },
  });
  const first = await runOnce(runtime, { runId: 'wd-1' });
  expect(first.result.output).toBe('had 0 lines');
  expect(await blobs.get('workdir:wd-1')).toBeDefined();
  // Another machine: the directory is empty there.
  rmSync(dir, { recursive: true, force: true });
  const second = await runOnce(runtime, {
    runId: 'wd-2',
    input: { prompt: 'again' },
    resumeFrom: { kind: 'session', state: first.result.state },
  });
  expect(second.result.output).toBe('had 1 lines');
  expect(execFileSync('git', ['-C', dir, 'log', '--format=%s']).toString().trim()).toBe('init');
});
