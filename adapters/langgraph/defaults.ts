/** Defaults of the LangGraph adapter, in one place. */
export const LANGGRAPH_DEFAULTS = {
  /**
   * Checkpoints kept per namespace of a thread. One is enough to continue a thread after a crash
   * or an interrupt; keep more for `getStateHistory` and time travel. Graphs with delta channels
   * keep every ancestor whatever this says (LangGraph rebuilds those channels from them).
   * @defaultValue 1
   */
  keepCheckpoints: 1,
  /**
   * Prefix of a thread's key in the session store of `loopworkCheckpointer`.
   * @defaultValue 'langgraph:'
   */
  keyPrefix: 'langgraph:',
  /**
   * LangGraph's recursion limit (supersteps per call) set by the runtime. High on purpose:
   * loopwork's `maxTurns` is the run's cap; this only stops a graph that loops without calling
   * the model.
   * @defaultValue 10000
   */
  recursionLimit: 10_000,
  /**
   * When the runtime's graph saves its checkpoints: `sync` saves each step before the next one
   * starts, so a crash loses at most the step in flight.
   * @defaultValue 'sync'
   */
  durability: 'sync',
} as const;
