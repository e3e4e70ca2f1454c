import type { StandardSchemaV1 } from '../agent/standard-schema';

/** `path.to.field: message; other: message` — validation issues as one readable line. */
export function describeIssues(issues: ReadonlyArray<StandardSchemaV1.Issue>): string {
  return issues
    .map((issue) => {
      const path = (issue.path ?? [])
        .map((key) => String(typeof key === 'object' ? key.key : key))
        .join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
