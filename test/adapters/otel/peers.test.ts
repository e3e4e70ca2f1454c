import * as incubating from '@opentelemetry/semantic-conventions/incubating';
import { InvalidOptionError } from 'loopwork';
import { otelInstrumentation } from 'loopwork/otel';
import { describe, expect, it } from 'vitest';
import { importApi } from '../../../adapters/otel/peers';
import * as semconv from '../../../adapters/otel/semconv';
import { rejectionOf } from '../../helpers/rejection';

const MESSAGE =
  '[loopwork:otel] cannot load @opentelemetry/api: loopwork/otel needs the optional peer dependency @opentelemetry/api (and an OpenTelemetry SDK to export what it records) (npm install @opentelemetry/api@^1.9.0)';

describe('a missing @opentelemetry/api', () => {
  // A real failed import of a package that is not installed, as Node reports it.
  const missing = () => import(['@opentelemetry', 'api-not-installed'].join('/'));

  it('is reported as what to install', async () => {
    const error = await rejectionOf(() => importApi(missing));
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(error.message).toBe(MESSAGE);
    expect((error.cause as { code?: string }).code).toBe('ERR_MODULE_NOT_FOUND');
  });

  it('rejects otelInstrumentation() with that error', async () => {
    expect((await rejectionOf(() => otelInstrumentation({ loadApi: missing }))).message).toBe(
      MESSAGE,
    );
  });

  it('any other failure of the import is rethrown as it is', async () => {
    const broken = new SyntaxError('Unexpected token');
    expect(await rejectionOf(() => importApi(() => Promise.reject(broken)))).toBe(broken);
  });
});

describe('the copied semantic convention names', () => {
  it('equal those of @opentelemetry/semantic-conventions 1.45.0', () => {
    const names = Object.entries(semconv).filter(([, value]) => typeof value === 'string');
    expect(names.length).toBeGreaterThan(25);
    for (const [name, value] of names) {
      expect({ name, value }).toEqual({
        name,
        value: (incubating as Record<string, unknown>)[name],
      });
    }
  });
});
