import { InvalidOptionError } from '../errors';
import type { Instrumentation } from './instrumentation';

const MEMBERS = ['agentRun', 'modelCall', 'toolCall', 'dispatch', 'attempt'] as const;

/** Throws {@link InvalidOptionError} unless `value` is undefined or an {@link Instrumentation}. */
export function assertInstrumentation(value: unknown, option = 'instrumentation'): void {
  if (value === undefined) return;
  const candidate = value as Partial<Record<string, unknown>> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    candidate.specificationVersion !== 'loopwork.instrumentation.v1'
  ) {
    throw new InvalidOptionError(
      `${option} must be an Instrumentation (specificationVersion "loopwork.instrumentation.v1"), such as the one otelInstrumentation() from loopwork/otel resolves with; got ${candidate === null ? 'null' : typeof candidate}`,
    );
  }
  for (const member of MEMBERS) {
    const found = candidate[member];
    if (found !== undefined && typeof found !== 'function') {
      throw new InvalidOptionError(`${option}.${member} must be a function, got ${typeof found}`);
    }
  }
}
