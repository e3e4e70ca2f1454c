import { readdir } from 'node:fs/promises';
import { type BlobStore, persistGitWorkdir, restoreGitWorkdir } from 'loopwork';

/**
 * The run's working directory kept with it through loopwork's git-bundle helpers: bundled under
 * `workdir:<runId>` at each checkpoint, restored before a resumed run (from its own bundle) or a
 * follow-up (from the bundle of the run it follows) starts — into an absent or empty directory
 * (another machine); a directory that still holds the files (the same machine) is used as it is.
 */
export class Workdir {
  constructor(
    private readonly dir: string,
    private readonly store: { blobs: BlobStore; git?: string },
    private readonly runId: string,
    private readonly priorRunId: string | undefined,
  ) {}

  private options() {
    return this.store.git ? { git: this.store.git } : {};
  }

  async restore(): Promise<void> {
    if (this.priorRunId === undefined) return;
    const present = await readdir(this.dir).then(
      (entries) => entries.length > 0,
      () => false,
    );
    if (present) return;
    await restoreGitWorkdir(
      this.dir,
      `workdir:${this.priorRunId}`,
      this.store.blobs,
      this.options(),
    );
  }

  async persist(): Promise<void> {
    await persistGitWorkdir(this.dir, `workdir:${this.runId}`, this.store.blobs, this.options());
  }
}
