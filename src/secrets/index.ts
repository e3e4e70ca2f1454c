export type { RedactOptions, Redactor } from './redact';
export { createRedactor, DEFAULT_SECRET_PATTERNS, SECRET_ENV_VARS } from './redact';
