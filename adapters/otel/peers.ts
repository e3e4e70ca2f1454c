import { importOptionalPeer } from 'loopwork/adapter-kit';

/** The OpenTelemetry API module, as this adapter uses it. */
export type OtelApi = typeof import('@opentelemetry/api');

const INSTALL = 'npm install @opentelemetry/api@^1.9.0';

/**
 * Imports `@opentelemetry/api` (through `load`, replaceable for its test); a missing package
 * becomes an error saying what to install instead of Node's bare "Cannot find module".
 */
export function importApi(
  load: () => Promise<OtelApi> = () => import('@opentelemetry/api'),
): Promise<OtelApi> {
  return importOptionalPeer('@opentelemetry/api', load, {
    adapter: 'otel',
    needs:
      'the optional peer dependency @opentelemetry/api (and an OpenTelemetry SDK to export what it records)',
    install: INSTALL,
  });
}
