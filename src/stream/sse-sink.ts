import type { ServerResponse } from 'node:http';

/** Where a stream's frames go: waits for a slow client, tells when the client is gone. */
export interface SseSink {
  /** Aborted once the client left, was closed, or the stream ended. */
  readonly gone: AbortSignal;
  /** Sends a frame once the client can take it; false when the client is gone (or was just closed). */
  send(chunk: string): Promise<boolean>;
  /** Sends a keep-alive comment, unless frames are still waiting for the client. Never waits. */
  ping(): void;
  /** Ends the stream after what was sent (the normal end). */
  close(): void;
}

/**
 * A `node:http` response as a sink: `write()` returning false means the socket is full, so the
 * next frame waits for `drain` (and the event log is not read meanwhile); a client whose buffer
 * would pass `maxBufferedBytes`, or that takes nothing for `stallTimeoutMs`, is closed.
 */
export function nodeSink(
  response: ServerResponse,
  limits: { maxBufferedBytes: number; stallTimeoutMs: number },
): SseSink {
  const gone = new AbortController();
  response.on('close', () => gone.abort());
  const sink: SseSink = {
    gone: gone.signal,
    async send(chunk) {
      if (gone.signal.aborted || response.destroyed) return false;
      if (response.writableLength + Buffer.byteLength(chunk) > limits.maxBufferedBytes) {
        drop();
        return false;
      }
      if (response.write(chunk)) return true;
      const stalled = await new Promise<boolean>((resolve) => {
        const done = (value: boolean) => {
          clearTimeout(timer);
          response.off('drain', onDrain);
          gone.signal.removeEventListener('abort', onGone);
          resolve(value);
        };
        const onDrain = () => done(false);
        const onGone = () => done(false);
        const timer = setTimeout(() => done(true), limits.stallTimeoutMs);
        response.once('drain', onDrain);
        gone.signal.addEventListener('abort', onGone, { once: true });
      });
      if (stalled) drop();
      return !gone.signal.aborted;
    },
    ping() {
      if (!gone.signal.aborted && response.writableLength === 0) response.write(': keep-alive\n\n');
    },
    close() {
      gone.abort();
      if (!response.writableEnded) response.end();
    },
  };
  /** A client that stopped reading never drains: cut it off rather than wait for it. */
  const drop = () => {
    gone.abort();
    response.destroy();
  };
  return sink;
}
