/** Runs `read`, or gives `fallback` when it throws (a getter or a Proxy of a hostile value). */
export function safely<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/**
 * A readable description of anything thrown or rejected with — an Error whose `message` getter
 * throws, a null-prototype object, `undefined`, a Proxy — that never throws itself.
 */
export function describeThrown(thrown: unknown): string {
  return safely(() => {
    if (thrown instanceof Error) {
      const name = safely(() => String(thrown.name), 'Error');
      const message = safely(() => String(thrown.message), '(its message could not be read)');
      if (message === '') return name;
      return name === 'Error' ? message : `${name}: ${message}`;
    }
    if (thrown === undefined) return 'rejected with undefined (no reason given)';
    if (thrown === null) return 'rejected with null (no reason given)';
    if (typeof thrown === 'string') return thrown === '' ? 'rejected with an empty string' : thrown;
    if (typeof thrown === 'object') {
      const json = safely(() => JSON.stringify(thrown), undefined);
      const kind = safely(() => Object.prototype.toString.call(thrown), '[object]');
      return `rejected with ${kind}${json === undefined || json === '{}' ? '' : ` ${json}`}`;
    }
    return `rejected with ${typeof thrown} ${String(thrown)}`;
  }, 'rejected with a value that could not be described');
}
