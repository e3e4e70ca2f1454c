import type { ServerResponse } from 'node:http';
import type { StopReason } from '../model/model';
import type { Usage } from '../model/usage';
import type { Redactor } from '../secrets/redact';

/** How one wire format tells what a call cost, for {@link relayUpstream}. */
export interface RelayMeter {
  /** Usage and stop reason of a whole JSON answer; `usage` undefined when it reports none. */
  fromJson(answer: Record<string, unknown>): {
    usage: Usage | undefined;
    stopReason: StopReason | undefined;
  };
  /** Sees each piece of a streamed answer as it passes. */
  push(text: string): void;
  /** A streamed answer's usage once its end came, or undefined when it never did. */
  streamed(): Usage | undefined;
}

/** Options of {@link relayUpstream}. */
export interface RelayOptions {
  /** The upstream endpoint, whole. */
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Aborts the upstream request (the client went away, the run ended). */
  signal: AbortSignal;
  /** @defaultValue globalThis.fetch */
  fetch?: typeof fetch | undefined;
  /** Upstream response headers passed on to the client (lower case). */
  returnedHeaders: readonly string[];
  /** Hides secrets in an upstream error answer before the client sees it. */
  redactor: Redactor;
  meter: RelayMeter;
  /**
   * Settles the call once: what it cost, or undefined when the upstream refused it (an error
   * status is not billed). A `stopReason` left undefined is the caller's to fill in.
   */
  settle(usage: Usage | undefined, stopReason?: StopReason): void;
  /** What a call whose cost is unknown may have cost: its worst case, so budgets stay hard. */
  worstCase(): Usage;
}

/**
 * Sends one model call upstream and relays the answer to `res` as it comes (status, the returned
 * headers, then the body or its event stream chunk by chunk), settling what the call cost: the
 * usage the answer reports, or the worst case when it reports none or its stream is cut. An error
 * status is passed on with secrets hidden and settles nothing. Rejects when the upstream request
 * or the stream fails; the caller then settles (it knows whether the call may have been billed)
 * and answers in its wire format. The budget proxies of the CLI runtimes are built on it.
 */
export async function relayUpstream(res: ServerResponse, options: RelayOptions): Promise<void> {
  const { meter, settle, worstCase } = options;
  const response = await (options.fetch ?? fetch)(options.url, {
    method: 'POST',
    headers: options.headers,
    body: options.body,
    signal: options.signal,
  });
  const headers: Record<string, string> = {};
  for (const name of options.returnedHeaders) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  if (!response.ok) {
    const text = options.redactor.string(await response.text());
    settle(undefined);
    res.writeHead(response.status, headers);
    res.end(text);
    return;
  }
  res.writeHead(response.status, headers);
  if (!(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const text = await response.text();
    let answer: Record<string, unknown> = {};
    try {
      answer = JSON.parse(text);
    } catch {}
    const { usage, stopReason } = meter.fromJson(answer ?? {});
    settle(usage ?? worstCase(), stopReason);
    res.end(text);
    return;
  }
  const decoder = new TextDecoder();
  for await (const chunk of response.body ?? []) {
    meter.push(decoder.decode(chunk as Uint8Array, { stream: true }));
    res.write(chunk);
  }
  settle(meter.streamed() ?? worstCase());
  res.end();
}
