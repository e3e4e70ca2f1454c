/**
 * A `fetch` for vendor SDK clients under msw on Node 20.
 *
 * msw's interceptor never settles `cancel()` on a mocked body on Node 20 (mswjs/interceptors#799,
 * fixed only for Node 22), and the SDKs cancel bodies before a retry, on early `break` from a
 * stream and on abort — so those hang. This wrapper re-streams the body: its `cancel()` cancels
 * the inner reader without awaiting it, and it errors when the request's signal aborts. Against a
 * real HTTP server the SDKs need none of this.
 */
export const mswSafeFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (!response.body) return response;
  const reader = response.body.getReader();
  const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      signal?.addEventListener(
        'abort',
        () => {
          controller.error(signal.reason);
          void reader.cancel().catch(() => {});
        },
        { once: true },
      );
    },
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
      }
    },
    cancel(reason) {
      void reader.cancel(reason).catch(() => {});
    },
  });
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
};
