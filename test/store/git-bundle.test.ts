// persistGitWorkdir / restoreGitWorkdir with real git repositories in temporary directories, on
// the S3 blob store (fauxqs) and on the in-memory one: the helpers work with any blob store.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import {
  type BlobStore,
  createMemoryBlobStore,
  InvalidOptionError,
  persistGitWorkdir,
  restoreGitWorkdir,
} from 'loopwork';
import { createS3BlobStore } from 'loopwork/s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../helpers/fauxqs';

let emulator: Emulator;
const root = mkdtempSync(join(tmpdir(), 'loopwork-git-test-'));
beforeAll(async () => {
  emulator = await startEmulator();
  await emulator.s3.send(new CreateBucketCommand({ Bucket: 'bundles' }));
});
afterAll(async () => {
  await emulator?.stop();
  rmSync(root, { recursive: true, force: true });
});

let dirs = 0;
const newDir = () => join(root, `d${dirs++}`);
const IDENTITY = ['-c', 'user.name=Test', '-c', 'user.email=test@example.com'];
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', [...IDENTITY, ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
const write = (dir: string, file: string, text: string) => writeFileSync(join(dir, file), text);
const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');

/** Two branches, a tag, a remote with an upstream, and changes of every kind left uncommitted. */
function makeRepository(): string {
  const dir = newDir();
  mkdirSync(dir);
  git(dir, 'init', '-q', '-b', 'main');
  write(dir, '.gitignore', '*.log\n');
  write(dir, 'a.txt', 'a1\n');
  write(dir, 'gone.txt', 'to be deleted\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'first');
  git(dir, 'tag', 'v1');
  git(dir, 'checkout', '-q', '-b', 'feature');
  write(dir, 'b.txt', 'on feature\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'feature work');
  git(dir, 'checkout', '-q', 'main');
  write(dir, 'c.txt', 'c1\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'second');
  git(dir, 'remote', 'add', 'origin', 'https://agent:s3cr3t-token@git.example.com/team/repo.git');
  git(dir, 'update-ref', 'refs/remotes/origin/main', 'HEAD~1');
  git(dir, 'config', 'branch.main.remote', 'origin');
  git(dir, 'config', 'branch.main.merge', 'refs/heads/main');
  // Uncommitted: unstaged edit, staged edit, staged new file, deletion, untracked, ignored.
  write(dir, 'a.txt', 'a1\na2 unstaged\n');
  write(dir, 'c.txt', 'c1\nc2 staged\n');
  write(dir, 'staged.txt', 'new and staged\n');
  git(dir, 'add', 'c.txt', 'staged.txt');
  write(dir, 'c.txt', 'c1\nc2 staged\nc3 unstaged on top\n');
  rmSync(join(dir, 'gone.txt'));
  mkdirSync(join(dir, 'notes'));
  write(dir, 'notes/untracked.md', '# draft\n');
  write(dir, 'debug.log', 'ignored\n');
  return dir;
}

/** Everything about a repository that should survive the trip, except its object ids' storage. */
function describeRepository(dir: string) {
  return {
    head: git(dir, 'rev-parse', 'HEAD'),
    branch: git(dir, 'symbolic-ref', '-q', '--short', 'HEAD'),
    refs: git(dir, 'for-each-ref', '--format=%(refname) %(objectname)'),
    status: git(dir, 'status', '--porcelain=v1', '--untracked-files=all'),
    staged: git(dir, 'diff', '--cached'),
    unstaged: git(dir, 'diff'),
    files: ['a.txt', 'c.txt', 'staged.txt', 'notes/untracked.md'].map((file) => read(dir, file)),
  };
}

const stores: Array<[string, () => BlobStore]> = [
  ['S3', () => createS3BlobStore({ client: emulator.s3, bucket: 'bundles', prefix: 'sessions/' })],
  ['memory', () => createMemoryBlobStore()],
];

for (const [label, createStore] of stores) {
  describe(`git bundles in the ${label} blob store`, () => {
    it('restores branches, tags, remote-tracking branches, upstreams and every uncommitted change', async () => {
      const blobs = createStore();
      const source = makeRepository();
      const before = describeRepository(source);
      const stored = await persistGitWorkdir(source, 's1/git.bundle', blobs);
      expect(stored).toMatchObject({ branch: 'main', commit: before.head, uncommitted: true });
      expect(stored.bytes).toBeGreaterThan(0);
      // The source repository is exactly as it was: no refs left behind, index untouched.
      expect(describeRepository(source)).toEqual(before);

      const target = newDir();
      const restored = await restoreGitWorkdir(target, 's1/git.bundle', blobs);
      expect(restored).toEqual({ ...stored });
      expect(describeRepository(target)).toEqual(before);
      expect(git(target, 'branch', '--format=%(refname:short)')).toBe('feature\nmain');
      expect(git(target, 'tag')).toBe('v1');
      expect(git(target, 'log', '--format=%s', 'feature')).toBe('feature work\nfirst');
      // Remotes and upstreams come back, without the credentials that were in the URL.
      expect(git(target, 'remote', 'get-url', 'origin')).toBe(
        'https://git.example.com/team/repo.git',
      );
      expect(git(target, 'rev-parse', '--abbrev-ref', 'main@{upstream}')).toBe('origin/main');
      expect(existsSync(join(target, 'gone.txt'))).toBe(false);
      expect(existsSync(join(target, 'debug.log')), 'ignored files are not carried').toBe(false);
    });
  });
}

describe('persistGitWorkdir and restoreGitWorkdir', () => {
  it("uncommitted: 'ignore' carries the commits only; the restore is a clean checkout of HEAD", async () => {
    const blobs = createMemoryBlobStore();
    const source = makeRepository();
    const stored = await persistGitWorkdir(source, 'k', blobs, { uncommitted: 'ignore' });
    expect(stored.uncommitted).toBe(false);
    const target = newDir();
    expect((await restoreGitWorkdir(target, 'k', blobs))?.uncommitted).toBe(false);
    expect(git(target, 'status', '--porcelain')).toBe('');
    expect([read(target, 'a.txt'), read(target, 'c.txt'), read(target, 'gone.txt')]).toEqual([
      'a1\n',
      'c1\n',
      'to be deleted\n',
    ]);
    expect(existsSync(join(target, 'notes/untracked.md'))).toBe(false);
  });

  it("uncommitted: 'refuse' throws on a dirty working directory and stores nothing", async () => {
    const blobs = createMemoryBlobStore();
    const source = makeRepository();
    await expect(
      persistGitWorkdir(source, 'k', blobs, { uncommitted: 'refuse' }),
    ).rejects.toSatisfy(
      (error: Error) =>
        InvalidOptionError.isInstance(error) &&
        /has uncommitted changes \(uncommitted: 'refuse'\)/.test(error.message),
    );
    expect(await blobs.list('')).toEqual([]);
    git(source, 'stash', '-q', '--include-untracked');
    expect(
      (await persistGitWorkdir(source, 'k', blobs, { uncommitted: 'refuse' })).uncommitted,
    ).toBe(false);
  });

  it('a detached HEAD is restored detached, at the same commit', async () => {
    const blobs = createMemoryBlobStore();
    const source = makeRepository();
    git(source, 'stash', '-q', '--include-untracked');
    git(source, 'checkout', '-q', '--detach', 'feature');
    const stored = await persistGitWorkdir(source, 'k', blobs);
    expect(stored).toMatchObject({ branch: null, commit: git(source, 'rev-parse', 'feature') });
    const target = newDir();
    await restoreGitWorkdir(target, 'k', blobs);
    expect(git(target, 'rev-parse', 'HEAD')).toBe(stored.commit);
    expect(() => git(target, 'symbolic-ref', '-q', 'HEAD')).toThrow();
    expect(read(target, 'b.txt')).toBe('on feature\n');
  });

  it('a repository without commits keeps its files', async () => {
    const blobs = createMemoryBlobStore();
    const source = newDir();
    mkdirSync(source);
    git(source, 'init', '-q', '-b', 'trunk');
    write(source, 'draft.txt', 'nothing committed yet\n');
    expect(await persistGitWorkdir(source, 'k', blobs)).toMatchObject({
      branch: 'trunk',
      commit: null,
      uncommitted: true,
    });
    const target = newDir();
    await restoreGitWorkdir(target, 'k', blobs);
    expect(read(target, 'draft.txt')).toBe('nothing committed yet\n');
    expect(git(target, 'symbolic-ref', '--short', 'HEAD')).toBe('trunk');
    expect(git(target, 'status', '--porcelain')).toBe('?? draft.txt');
  });

  it('the blob is a plain bundle that git clone reads, and a plain bundle restores too', async () => {
    const blobs = createMemoryBlobStore();
    const source = makeRepository();
    await persistGitWorkdir(source, 'ours', blobs);
    const file = join(root, 'ours.bundle');
    writeFileSync(file, (await blobs.get('ours'))!);
    const cloned = newDir();
    execFileSync('git', ['clone', '-q', file, cloned], { stdio: 'ignore' });
    expect(git(cloned, 'log', '--format=%s')).toBe('second\nfirst');

    // A bundle made by git alone, without the helper's extras: HEAD's branch is checked out.
    const plain = join(root, 'plain.bundle');
    git(source, 'bundle', 'create', '-q', plain, '--all');
    await blobs.put('plain', readFileSync(plain));
    const target = newDir();
    expect(await restoreGitWorkdir(target, 'plain', blobs)).toMatchObject({
      branch: 'main',
      commit: git(source, 'rev-parse', 'HEAD'),
      uncommitted: false,
    });
    expect(git(target, 'status', '--porcelain')).toBe('');
    expect(read(target, 'c.txt')).toBe('c1\n');
  });

  it('restores nothing for a missing key, and refuses a directory that is not empty', async () => {
    const blobs = createMemoryBlobStore();
    expect(await restoreGitWorkdir(newDir(), 'missing', blobs)).toBeUndefined();
    const source = makeRepository();
    await persistGitWorkdir(source, 'k', blobs);
    await expect(restoreGitWorkdir(source, 'k', blobs)).rejects.toThrow(
      /^\[loopwork:git\] cannot restore into .*: it is not empty/,
    );
    const notARepository = newDir();
    mkdirSync(notARepository);
    await expect(persistGitWorkdir(notARepository, 'k', blobs)).rejects.toThrow(
      /is not inside a git working directory/,
    );
  });
});
