/** Defaults of {@link SseHandlerOptions}. */
export const SSE_DEFAULTS = {
  /** A comment line this often while the run is quiet, so proxies keep the connection. @defaultValue 15_000 */
  keepAliveMs: 15_000,
  /**
   * Bytes written to one client and not yet taken by it before it is closed (it resumes with
   * Last-Event-ID). Above the event log's largest event (1 MiB by default), so any one event fits.
   * @defaultValue 4_194_304 (4 MiB)
   */
  maxBufferedBytes: 4 * 1024 * 1024,
  /** How long a client may take nothing while events wait for it before it is closed. @defaultValue 60_000 */
  stallTimeoutMs: 60_000,
  /** Clients following one run at once; the next is answered 429. @defaultValue 100 */
  maxClientsPerRun: 100,
  /** The reconnection delay sent to EventSource (`retry:`). @defaultValue 2_000 */
  retryMs: 2_000,
} as const;
