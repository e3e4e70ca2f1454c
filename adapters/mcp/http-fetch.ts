/**
 * A `fetch` for the streamable HTTP transport that notices when the server drops the response
 * stream of a `tools/call` (the server crashed or was killed mid-call). The SDK only resumes such
 * a stream when the server sent event ids; otherwise the call would wait for its timeout, so
 * `onCallStreamLost` lets the connection fail it at once.
 */
export function watchingFetch(
  base: typeof fetch,
  onCallStreamLost: (error: unknown) => void,
): typeof fetch {
  return async (input, init) => {
    const response = await base(input, init);
    if (init?.method !== 'POST' || !response.body || !isToolCall(init.body)) return response;
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          onCallStreamLost(error);
          controller.error(error);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    });
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

function isToolCall(body: unknown): boolean {
  if (typeof body !== 'string') return false;
  try {
    const message = JSON.parse(body) as { method?: unknown } | Array<{ method?: unknown }>;
    return Array.isArray(message)
      ? message.some((item) => item?.method === 'tools/call')
      : message?.method === 'tools/call';
  } catch {
    return false;
  }
}
