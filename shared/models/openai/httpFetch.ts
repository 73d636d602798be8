import { Agent, request, type IncomingMessage } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

/**
 * The `fetch` the openai client is given for plain-HTTP endpoints (Ollama, vLLM, llama.cpp, a
 * gateway on the same host): node:http over one keep-alive agent. Node's global fetch (undici)
 * already reuses connections, but its WHATWG machinery (Request, streams, header checks) costs
 * ~300 µs of CPU a call against ~90 µs for node:http, measured side by side on the same local
 * server — as much as the rest of a local model call. HTTPS endpoints, bodies other than text
 * or bytes, and a process told to use the environment's proxy (NODE_USE_ENV_PROXY) keep the
 * global fetch: it alone does what they need, and over a network those microseconds vanish.
 *
 * The answer is read whole before it resolves (chat completions are not streamed here). An
 * abort destroys the request with an `AbortError`, which the client reports as it does fetch's.
 */
export function httpFetch(env: NodeJS.ProcessEnv = process.env): typeof fetch {
  const agent = new Agent({ keepAlive: true });
  const viaProxy = env.NODE_USE_ENV_PROXY === '1';
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : undefined;
    const body = init?.body;
    const plainBody = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
    if (viaProxy || url === undefined || !url.startsWith('http://') || !plainBody) return fetch(input, init);
    return new Promise<Response>((resolve, reject) => {
      const signal = init?.signal ?? undefined;
      if (signal?.aborted) return reject(abortError(signal));
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((value, name) => (headers[name] = value));
      const req = request(url, { method: init?.method ?? 'GET', headers, agent }, (res) => {
        readAll(res)
          .then((bytes) => toResponse(res, bytes))
          .then(resolve, reject);
      });
      const onAbort = () => req.destroy(abortError(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.once('close', () => signal?.removeEventListener('abort', onAbort));
      req.once('error', reject);
      req.end(body ?? undefined);
    });
  };
}

function readAll(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.once('end', () => resolve(Buffer.concat(chunks)));
    res.once('error', reject);
    // The connection went away before the answer was whole.
    res.once('close', () => {
      if (!res.complete) reject(new Error('the connection closed before the response was complete'));
    });
  });
}

/** Statuses whose Response may not carry a body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** As fetch does, a compressed answer is handed on decompressed (no Accept-Encoding is sent, but a server may compress anyway). */
const DECODERS: Record<string, (bytes: Buffer) => Buffer> = { gzip: gunzipSync, 'x-gzip': gunzipSync, deflate: inflateSync, br: brotliDecompressSync };

function toResponse(res: IncomingMessage, bytes: Buffer): Response {
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const decode = DECODERS[(res.headers['content-encoding'] ?? '').trim().toLowerCase()];
  if (decode && bytes.length > 0) {
    bytes = decode(bytes);
    headers.delete('content-encoding');
    headers.delete('content-length');
  }
  const status = res.statusCode ?? 0;
  return new Response(NULL_BODY.has(status) ? null : bytes, { status, statusText: res.statusMessage ?? '', headers });
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error && signal.reason.name === 'AbortError' ? signal.reason : new DOMException('This operation was aborted', 'AbortError');
}
