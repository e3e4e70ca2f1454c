/** A live heartbeat. */
export interface Heartbeat {
  /** What the beater attached (worker id, last claim time …). */
  data: Record<string, unknown>;
  /** Epoch milliseconds after which the heartbeat is dead. */
  expiresAt: number;
}

/** Heartbeats with a time to live: a key is alive while it keeps being beaten. */
export interface HeartbeatStore {
  /** Contract version this object implements. */
  readonly specificationVersion: 'loopwork.heartbeat-store.v1';
  /** Sets `key` alive for `ttlMs` from now, with `data`. */
  beat(key: string, ttlMs: number, data?: Record<string, unknown>): Promise<void>;
  /**
   * Optional: what `beat(key, ttlMs, data)` does for each of `beats`, in one call. A worker beats
   * for all its running runs with one call per round when the store has it, else with a `beat`
   * each.
   */
  beatMany?(
    beats: ReadonlyArray<{ key: string; data?: Record<string, unknown> }>,
    ttlMs: number,
  ): Promise<void>;
  /** The heartbeat under `key`, or undefined when it expired or never existed. */
  get(key: string): Promise<Heartbeat | undefined>;
  /** Removes a heartbeat (a clean stop). */
  remove(key: string): Promise<void>;
  /** Live heartbeats whose key starts with `prefix`. */
  list(prefix: string): Promise<Array<Heartbeat & { key: string }>>;
}
