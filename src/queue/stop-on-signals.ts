import type { Worker } from './worker';

/**
 * Stops the worker gracefully on SIGTERM or SIGINT (a second signal exits at once).
 * Returns a function that removes the handlers.
 */
export function stopOnSignals(
  worker: Worker,
  signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
): () => void {
  let received = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    received = true;
    void worker.stop();
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
