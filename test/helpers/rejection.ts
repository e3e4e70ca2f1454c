/** Resolves with what `fn` threw or rejected with (sync throws included); fails if it succeeded. */
export async function rejectionOf(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, but the call succeeded');
}
