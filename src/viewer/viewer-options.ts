import { InvalidOptionError } from '../errors';
import type { EventLog } from '../store/event-log';
import type { RunStore } from '../store/run-store';

/** What `authorize` of the run viewer is asked about. */
export interface ViewerRequest {
  /** The run the request reads; undefined for the page, its assets and the run listing. */
  runId: string | undefined;
  /** Request headers, lower-cased names (a session cookie is the usual credential of a page). */
  headers: Headers;
  url: URL;
}

/** Options of {@link createRunViewer}. */
export interface RunViewerOptions {
  runs: RunStore;
  events: EventLog;
  /**
   * Decides whether this request may be served: `false` is answered 403. Asked for every request
   * (the page, its script, the listing, each run and its event stream), with `runId` set for a
   * run's record and events. Required: there is no open default. A throw is answered 500 and
   * passed to `onError`.
   */
  authorize: (request: ViewerRequest) => boolean | Promise<boolean>;
  /** Path the viewer is mounted at; requests outside it are answered 404. @defaultValue '/' */
  basePath?: string;
  /** Told about server-side failures (authorize or a store throwing). @defaultValue `console.error` with a `[loopwork:viewer]` prefix */
  onError?: (error: unknown) => void;
}

/** Options with the defaults filled in. */
export type ResolvedViewerOptions = Required<RunViewerOptions>;

/** Validates the options, each error naming its option. */
export function resolveViewerOptions(options: RunViewerOptions): ResolvedViewerOptions {
  if (typeof options?.authorize !== 'function') {
    throw new InvalidOptionError(
      'authorize is required: pass a function deciding who may see the viewer and which runs (there is no open default)',
    );
  }
  if (typeof options.runs?.list !== 'function' || typeof options.runs.get !== 'function') {
    throw new InvalidOptionError('runs must be a RunStore (with get and list)');
  }
  if (typeof options.events?.read !== 'function' || typeof options.events.follow !== 'function') {
    throw new InvalidOptionError('events must be an EventLog (with read and follow)');
  }
  let basePath = options.basePath ?? '/';
  if (typeof basePath !== 'string' || !basePath.startsWith('/') || /[?#]/.test(basePath)) {
    throw new InvalidOptionError(
      `basePath must be a path starting with "/" (no query or fragment), got ${JSON.stringify(basePath)}`,
    );
  }
  if (!basePath.endsWith('/')) basePath += '/';
  const onError =
    options.onError ?? ((error: unknown) => console.error('[loopwork:viewer]', error));
  if (typeof onError !== 'function') throw new InvalidOptionError('onError must be a function');
  return {
    runs: options.runs,
    events: options.events,
    authorize: options.authorize,
    basePath,
    onError,
  };
}
