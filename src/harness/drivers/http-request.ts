/** One HTTP request of a driver, and the status and body of its response once one arrived. */
export interface HttpExchange {
  method: string;
  url: string;
  status?: number;
  responseBody?: string;
}

/**
 * Sends one request with an optional JSON body, bounded by `timeoutMs` and cancelled by
 * `signal`, and returns the response status and body text. A request that got no response, or
 * a status outside 2xx, is thrown as the error `toError` makes of the exchange.
 */
export async function sendJsonRequest(
  request: { method: string; url: string; body?: unknown },
  options: { timeoutMs: number; signal?: AbortSignal },
  toError: (exchange: HttpExchange, cause?: unknown) => Error,
): Promise<{ status: number; text: string }> {
  const { method, url, body } = request;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      signal,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw toError({ method, url }, error);
  }
  const text = await response.text();
  if (!response.ok) throw toError({ method, url, status: response.status, responseBody: text });
  return { status: response.status, text };
}
