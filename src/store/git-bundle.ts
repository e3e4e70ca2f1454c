import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidOptionError } from '../errors';
import type { BlobStore } from './blob-store';

/** Options of {@link persistGitWorkdir}. */
export interface PersistGitOptions {
  /**
   * What happens to changes not committed yet (staged, unstaged, untracked files that are not
   * ignored): `include` snapshots them into the bundle, without touching the repository's
   * branches, index or files, and the restore puts them back as they were; `ignore` bundles the
   * commits only (those changes are lost on another machine); `refuse` throws when there are any.
   * Ignored files (`.gitignore`) are never carried. @defaultValue 'include'
   */
  uncommitted?: 'include' | 'ignore' | 'refuse';
  /** The git executable. @defaultValue 'git' */
  git?: string;
}

/** What {@link persistGitWorkdir} stored, and what {@link restoreGitWorkdir} restored. */
export interface GitWorkdirState {
  /** The checked-out branch, or null when HEAD was detached. */
  branch: string | null;
  /** The commit HEAD pointed at, or null in a repository without commits. */
  commit: string | null;
  /** True when uncommitted changes travelled with the bundle. */
  uncommitted: boolean;
  /** Size of the bundle in bytes. */
  bytes: number;
}

/** What the bundle carries besides the refs, in the message of the commit `refs/loopwork/meta`. */
interface Meta {
  v: 1;
  branch: string | null;
  commit: string | null;
  uncommitted: boolean;
  /** `remote.*` and `branch.*` settings (remotes, upstreams), credentials removed from URLs. */
  config: Array<[string, string]>;
}

const META = 'refs/loopwork/meta';
const INDEX = 'refs/loopwork/index';
const WORKTREE = 'refs/loopwork/worktree';
/** Who the helper commits (snapshot and meta commits, never on a branch) are by. */
const IDENTITY = {
  GIT_AUTHOR_NAME: 'loopwork',
  GIT_AUTHOR_EMAIL: 'loopwork@localhost',
  GIT_COMMITTER_NAME: 'loopwork',
  GIT_COMMITTER_EMAIL: 'loopwork@localhost',
};

/** Runs git without a shell; rejects with its stderr. */
function runGit(
  git: string,
  cwd: string,
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      git,
      args,
      {
        cwd,
        env: { ...process.env, ...options.env },
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(
              `[loopwork:git] git ${args.join(' ')} failed in ${cwd}: ${stderr.trim() || error.message}`,
              {
                cause: error,
              },
            ),
          );
        } else resolvePromise(stdout);
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Like {@link runGit}, but resolves undefined instead of rejecting (for probes). */
const tryGit = (git: string, cwd: string, args: string[]) =>
  runGit(git, cwd, args).then(
    (out) => out.trim(),
    () => undefined,
  );

/** `https://user:token@host/x` → `https://host/x`: credentials do not go into blob storage. */
function withoutCredentials(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/**
 * Stores the git repository at `dir` in `blobs` under `key`, as one `git bundle --all`: every
 * branch, tag and remote-tracking branch with their history, in one file.
 * The blob is a plain bundle: `git clone <file>` reads it too. Besides the refs it carries which
 * branch was checked out, the repository's remotes and upstreams, and, by default, a snapshot of
 * the uncommitted changes (see {@link PersistGitOptions.uncommitted}). Not carried: ignored
 * files, stashes other than the newest, reflogs, hooks, local config beyond remotes and
 * branches, and an unfinished merge or rebase.
 *
 * Do not persist one repository from two calls at once: each adds and removes refs under
 * `refs/loopwork/`.
 *
 * @example
 * ```ts
 * await persistGitWorkdir('/work/session-42', 'sessions/42/git.bundle', blobs);
 * // later, on another machine:
 * await restoreGitWorkdir('/work/session-42', 'sessions/42/git.bundle', blobs);
 * ```
 */
export async function persistGitWorkdir(
  dir: string,
  key: string,
  blobs: BlobStore,
  options: PersistGitOptions = {},
): Promise<GitWorkdirState> {
  const git = options.git ?? 'git';
  const mode = options.uncommitted ?? 'include';
  const top = (await tryGit(git, dir, ['rev-parse', '--show-toplevel'])) ?? '';
  if (top === '') {
    throw new InvalidOptionError(`[loopwork:git] ${dir} is not inside a git working directory`);
  }
  const branchRef = await tryGit(git, top, ['symbolic-ref', '-q', 'HEAD']);
  const branch = branchRef?.startsWith('refs/heads/')
    ? branchRef.slice('refs/heads/'.length)
    : null;
  const commit = (await tryGit(git, top, ['rev-parse', '-q', '--verify', 'HEAD^{commit}'])) ?? null;
  const status = await runGit(git, top, [
    'status',
    '--porcelain=v1',
    '-z',
    '--untracked-files=all',
  ]);
  const dirty = status.length > 0;
  if (dirty && mode === 'refuse') {
    throw new InvalidOptionError(
      `[loopwork:git] ${top} has uncommitted changes (uncommitted: 'refuse'); commit or stash them, or persist with uncommitted: 'include'`,
    );
  }
  const snapshot = dirty && mode === 'include';
  const scratch = await mkdtemp(join(tmpdir(), 'loopwork-bundle-'));
  const refs: string[] = [];
  const commitTree = async (tree: string, message: string) =>
    (
      await runGit(
        git,
        top,
        ['commit-tree', tree, ...(commit ? ['-p', commit] : []), '-m', message],
        {
          env: IDENTITY,
        },
      )
    ).trim();
  const setRef = async (ref: string, sha: string) => {
    await runGit(git, top, ['update-ref', ref, sha]);
    refs.push(ref);
  };
  try {
    if (snapshot) {
      // The staged state, as a tree (an index in the middle of a merge has none: HEAD's then).
      const indexTree =
        (await tryGit(git, top, ['write-tree'])) ??
        (commit ? (await runGit(git, top, ['rev-parse', `${commit}^{tree}`])).trim() : undefined);
      if (indexTree) await setRef(INDEX, await commitTree(indexTree, 'loopwork: staged changes'));
      // The working tree, through a copy of the index so the repository's own is not touched.
      const index = join(scratch, 'index');
      const realIndex = resolve(
        top,
        (await runGit(git, top, ['rev-parse', '--git-path', 'index'])).trim(),
      );
      await copyFile(realIndex, index).catch(() => {});
      await runGit(git, top, ['add', '-A', '--', ':/'], { env: { GIT_INDEX_FILE: index } });
      const tree = (
        await runGit(git, top, ['write-tree'], { env: { GIT_INDEX_FILE: index } })
      ).trim();
      await setRef(WORKTREE, await commitTree(tree, 'loopwork: uncommitted changes'));
    }
    const configured =
      (await tryGit(git, top, ['config', '--local', '--get-regexp', '^(remote|branch)\\.'])) ?? '';
    const meta: Meta = {
      v: 1,
      branch,
      commit,
      uncommitted: snapshot,
      config: configured
        .split('\n')
        .filter((line) => line.includes(' '))
        .map((line) => {
          const space = line.indexOf(' ');
          return [line.slice(0, space), withoutCredentials(line.slice(space + 1))] as [
            string,
            string,
          ];
        }),
    };
    const emptyTree = (
      await runGit(git, top, ['hash-object', '-t', 'tree', '-w', '--stdin'], { input: '' })
    ).trim();
    await setRef(META, await commitTree(emptyTree, JSON.stringify(meta)));
    const file = join(scratch, 'repo.bundle');
    await runGit(git, top, ['bundle', 'create', '-q', file, '--all']);
    const bytes = await readFile(file);
    await blobs.put(key, bytes, { contentType: 'application/x-git-bundle' });
    return { branch, commit, uncommitted: snapshot, bytes: bytes.byteLength };
  } finally {
    for (const ref of refs) await tryGit(git, top, ['update-ref', '-d', ref]);
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Restores into `dir` (absent or empty) the repository {@link persistGitWorkdir} stored under
 * `key`: every branch, tag and remote-tracking branch, the checked-out branch (or detached HEAD),
 * remotes and upstreams, and the uncommitted changes if they travelled (staged ones staged again,
 * untracked files untracked). Resolves undefined when nothing is stored under `key`. Also takes
 * a plain `git bundle create … --all` bundle, checking out the branch its HEAD pointed at.
 */
export async function restoreGitWorkdir(
  dir: string,
  key: string,
  blobs: BlobStore,
  options: { git?: string } = {},
): Promise<GitWorkdirState | undefined> {
  const git = options.git ?? 'git';
  const bytes = await blobs.get(key);
  if (bytes === undefined) return undefined;
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) {
    throw new InvalidOptionError(`[loopwork:git] cannot restore into ${dir}: it is not empty`);
  }
  const scratch = await mkdtemp(join(tmpdir(), 'loopwork-bundle-'));
  try {
    const file = join(scratch, 'repo.bundle');
    await writeFile(file, bytes);
    await runGit(git, dir, ['init', '-q']);
    // Every ref of the bundle under its own name (HEAD may point at an unborn branch we write).
    await runGit(git, dir, ['fetch', '-q', '--update-head-ok', file, '+refs/*:refs/*']);
    const meta = await readMeta(git, dir, file);
    if (meta.branch !== null)
      await runGit(git, dir, ['symbolic-ref', 'HEAD', `refs/heads/${meta.branch}`]);
    else if (meta.commit !== null)
      await runGit(git, dir, ['update-ref', '--no-deref', 'HEAD', meta.commit]);
    for (const [name, value] of meta.config)
      await runGit(git, dir, ['config', '--add', name, value]);
    const hasWorktree =
      meta.uncommitted && (await tryGit(git, dir, ['rev-parse', '-q', '--verify', WORKTREE]));
    if (hasWorktree) {
      const hasIndex = await tryGit(git, dir, ['rev-parse', '-q', '--verify', INDEX]);
      await runGit(git, dir, ['read-tree', hasIndex ? `${INDEX}^{tree}` : 'HEAD']);
      await runGit(git, dir, ['restore', `--source=${WORKTREE}`, '--worktree', '--', ':/']);
      await tryGit(git, dir, ['update-index', '-q', '--refresh']);
    } else if (meta.commit !== null) {
      await runGit(git, dir, ['reset', '-q', '--hard']);
    }
    for (const ref of [META, INDEX, WORKTREE]) await tryGit(git, dir, ['update-ref', '-d', ref]);
    return {
      branch: meta.branch,
      commit: meta.commit,
      uncommitted: Boolean(hasWorktree),
      bytes: bytes.byteLength,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The bundle's meta commit; for a bundle made by plain git, what its HEAD says. */
async function readMeta(git: string, dir: string, file: string): Promise<Meta> {
  const message = await tryGit(git, dir, ['log', '-1', '--format=%B', META]);
  if (message) {
    try {
      const meta = JSON.parse(message) as Meta;
      if (meta.v === 1) return meta;
    } catch {
      // not ours: fall through
    }
  }
  const heads = (await runGit(git, dir, ['bundle', 'list-heads', file]))
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ') as [string, string]);
  const head = heads.find(([, ref]) => ref === 'HEAD')?.[0] ?? null;
  const branches = heads
    .filter(([sha, ref]) => sha === head && ref.startsWith('refs/heads/'))
    .map(([, ref]) => ref.slice('refs/heads/'.length));
  const branch = ['main', 'master'].find((name) => branches.includes(name)) ?? branches[0] ?? null;
  return { v: 1, branch, commit: head, uncommitted: false, config: [] };
}
