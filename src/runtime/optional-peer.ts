import { InvalidOptionError } from '../errors';

/** True for Node's "module not found" errors (ESM and CommonJS). */
function isMissingModule(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * For adapters with optional peer dependencies: runs `load` (a dynamic `import()` of `specifier`),
 * and turns Node's bare "Cannot find module" into an `InvalidOptionError` saying what to install:
 * `[loopwork:<adapter>] cannot load <specifier>: loopwork/<adapter> needs <needs> (<install>)`.
 * Any other failure of the import is rethrown as it is.
 */
export async function importOptionalPeer<T>(
  specifier: string,
  load: () => Promise<T>,
  peer: { adapter: string; needs: string; install: string },
): Promise<T> {
  try {
    return await load();
  } catch (cause) {
    if (!isMissingModule(cause)) throw cause;
    const error = new InvalidOptionError(
      `[loopwork:${peer.adapter}] cannot load ${specifier}: loopwork/${peer.adapter} needs ${peer.needs} (${peer.install})`,
    );
    (error as Error & { cause?: unknown }).cause = cause;
    throw error;
  }
}
