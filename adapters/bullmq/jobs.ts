import type { Job } from 'bullmq';
import type { Priority } from 'loopwork';

/** The name of every ungrouped job (and of every job the adapter added before it had groups). */
export const JOB_NAME = 'loopwork';
/**
 * The name of a grouped job is this plus the group id: settling a message must know its group,
 * and the name is the one free-form field a job has besides its data (which stays the body, so
 * jobs queued before groups existed, and plain BullMQ jobs, read as before).
 */
export const GROUP_JOB_NAME = 'loopwork:group:';

/** BullMQ runs lower numbers first, and 0 ("no priority") ahead of all of them. */
export const PRIORITY: Record<Priority, number> = { high: 1, normal: 2, low: 3 };

/**
 * Every job's options. loopwork counts deliveries and schedules retries itself (release with a
 * delay), so BullMQ makes one attempt. A completed job is deleted at once; a failed one stays
 * only until it is moved into the dead-letter stream, so no settled job lingers under its id.
 */
export const JOB_OPTIONS = { attempts: 1, removeOnComplete: true, removeOnFail: false } as const;

/** BullMQ error codes meaning the token no longer holds the job: gone, unlocked, not active, locked by another. */
export const LOST_CODES = new Set([-1, -2, -3, -6]);

/** The job name of a member of `group`. */
export const groupJobName = (group: string): string => GROUP_JOB_NAME + group;

/** The group of a job, from its name; undefined for ungrouped (and foreign) jobs. */
export function groupOfJob(job: Pick<Job, 'name'>): string | undefined {
  return typeof job.name === 'string' && job.name.startsWith(GROUP_JOB_NAME)
    ? job.name.slice(GROUP_JOB_NAME.length)
    : undefined;
}

/** The message body of a job: a string `data` is the body, anything else is delivered as JSON. */
export const bodyOfJob = (job: Pick<Job, 'data'>): string =>
  typeof job.data === 'string' ? job.data : JSON.stringify(job.data);

/** Resolves `true` when `promise` settles within `ms`, `false` when the time ran out first. */
export function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, ms));
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(done, done);
  });
}
