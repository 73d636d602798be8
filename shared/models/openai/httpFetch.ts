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
      // The client hands a Headers already: read it as it is rather than copying it first.
      const given = init?.headers;
      (given instanceof Headers ? given : new Headers(given)).forEach((value, name) => (headers[name] = value));
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
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const decode = DECODERS[(headers['content-encoding'] ?? '').trim().toLowerCase()];
  if (decode && bytes.length > 0) {
    bytes = decode(bytes);
    delete headers['content-encoding'];
    delete headers['content-length'];
  }
  const status = res.statusCode ?? 0;
  return new WholeResponse(status, res.statusMessage ?? '', new RecordHeaders(headers), NULL_BODY.has(status) ? null : bytes) as unknown as Response;
}

/**
 * A fetch Response over an answer already read whole: what the openai client reads of it
 * (status, headers, text or JSON) without building a WHATWG Response and its Headers, which
 * cost about as much as the node:http call itself. Anything else it might touch (`body`, a
 * form) is handed to a real Response made then, from the same bytes.
 */
class WholeResponse {
  readonly ok: boolean;
  readonly redirected = false;
  readonly type = 'basic';
  readonly url = '';
  #bytes: Buffer | null;
  #used = false;
  #real: Response | undefined;

  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: RecordHeaders,
    bytes: Buffer | null,
  ) {
    this.ok = status >= 200 && status < 300;
    this.#bytes = bytes;
  }

  get bodyUsed(): boolean {
    return this.#used || (this.#real?.bodyUsed ?? false);
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.real().body;
  }

  async text(): Promise<string> {
    const text = this.take().toString('utf8');
    // As fetch decodes UTF-8: a byte order mark is not part of the text.
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.take();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await this.arrayBuffer());
  }

  async blob(): Promise<Blob> {
    return new Blob([await this.arrayBuffer()]);
  }

  formData(): Promise<FormData> {
    return this.real().formData();
  }

  clone(): WholeResponse {
    if (this.bodyUsed) throw new TypeError('Response.clone: the body has already been read');
    return new WholeResponse(this.status, this.statusText, this.headers, this.#bytes);
  }

  /** The bytes, once: a body read twice is a TypeError, as with fetch. */
  private take(): Buffer {
    if (this.bodyUsed) throw new TypeError('the response body has already been read');
    this.#used = true;
    return this.#bytes ?? Buffer.alloc(0);
  }

  private real(): Response {
    if (!this.#real) {
      if (this.#used) throw new TypeError('the response body has already been read');
      const headers = new Headers();
      for (const [name, value] of this.headers) headers.append(name, value);
      this.#real = new Response(this.#bytes, { status: this.status, statusText: this.statusText, headers });
      this.#used = true;
    }
    return this.#real;
  }
}

/** Headers' reading side over a record of lower-case names (node:http's, duplicates joined). */
class RecordHeaders {
  readonly #values: Record<string, string>;

  constructor(values: Record<string, string>) {
    this.#values = values;
  }

  get(name: string): string | null {
    return this.#values[name.toLowerCase()] ?? null;
  }

  has(name: string): boolean {
    return this.#values[name.toLowerCase()] !== undefined;
  }

  getSetCookie(): string[] {
    const value = this.#values['set-cookie'];
    return value === undefined ? [] : [value];
  }

  forEach(fn: (value: string, name: string, headers: RecordHeaders) => void): void {
    for (const [name, value] of this.entries()) fn(value, name, this);
  }

  *entries(): IterableIterator<[string, string]> {
    // Headers iterate sorted by name.
    for (const name of Object.keys(this.#values).sort()) yield [name, this.#values[name]!];
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error && signal.reason.name === 'AbortError' ? signal.reason : new DOMException('This operation was aborted', 'AbortError');
}
