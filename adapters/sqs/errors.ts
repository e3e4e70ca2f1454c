/** Wraps an SDK error so the message says where it came from; keeps the original as `cause`. */
export function sqsFailure(what: string, error: unknown): Error {
  if (error instanceof Error && error.message.startsWith('[loopwork:')) return error;
  const name = (error as { name?: string } | undefined)?.name ?? 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`[loopwork:sqs] ${what} failed: ${name}: ${message}`, { cause: error });
}

const LEASE_ERRORS = new Set([
  'ReceiptHandleIsInvalid',
  'MessageNotInflight',
  'InvalidReceiptHandle',
]);

/**
 * True for the errors SQS answers about a receipt handle that no longer holds the message (also
 * AWS's "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]").
 */
export function isLeaseError(error: unknown): boolean {
  const { name = '', message = '' } = (error ?? {}) as { name?: string; message?: string };
  if (LEASE_ERRORS.has(name)) return true;
  return (
    name.includes('InvalidParameterValue') &&
    /receipt ?handle|not available for visibility|Total VisibilityTimeout/i.test(message)
  );
}
