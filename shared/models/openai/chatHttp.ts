/*
 * The `openai` provider's Chat Completions call, over node:http / node:https with one
 * keep-alive agent each: a POST of the body, the answer read whole. The openai client did the
 * same through its request pipeline (option merging, header objects, two formatted log records
 * per call even with logging off, a WHATWG Response), which cost ~110 µs of CPU per call
 * against ~95 µs for the request itself, measured side by side on the same local server; on a
 * mesh whose model is on the same host or network that was a tenth of the event.
 *
 * What comes back is what the openai client would have given: the parsed completion, or one of
 * its own errors (`APIError.generate` by status, `APIConnectionError`, `APIUserAbortError`), so
 * `openaiErrors.ts` translates both providers' errors the same way. Azure OpenAI keeps the
 * client (its Entra ID tokens and api-version dialects).
 */
import { Agent as HttpAgent, request as httpRequest, validateHeaderName, validateHeaderValue, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { APIConnectionError, APIError, APIUserAbortError } from 'openai/core/error';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';

/** One Chat Completions call: the body in, the completion out; rejects with the openai client's errors. */
export type ChatCall = (body: ChatCompletionCreateParamsNonStreaming, signal: AbortSignal) => Promise<ChatCompletion>;

/** Keep-alive agents shared by every endpoint of a provider. */
export interface ChatAgents {
  http: HttpAgent;
  https: HttpsAgent;
}

/**
 * The agents, honouring NODE_USE_ENV_PROXY=1 (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) as Node's own
 * agents and fetch do.
 */
export function chatAgents(env: NodeJS.ProcessEnv = process.env): ChatAgents {
  const proxy = env.NODE_USE_ENV_PROXY === '1' ? { proxyEnv: env } : {};
  return { http: new HttpAgent({ keepAlive: true, ...proxy }), https: new HttpsAgent({ keepAlive: true, ...proxy }) };
}

export interface ChatEndpoint {
  /** The API's base URL, e.g. https://api.openai.com/v1 or http://localhost:11434/v1. */
  baseURL: string;
  /** Sent with every call (authorization, organization, project). */
  headers: Record<string, string>;
  agents: ChatAgents;
}

/**
 * The most of an answer read (after decompression too): a completion is a few kilobytes, and a
 * server or proxy gone wrong must not fill the mesh's memory. Over it, the call fails as a
 * connection error (the next endpoint is tried) and the connection is dropped.
 */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/** The call for one endpoint. */
export function chatOverHttp(endpoint: ChatEndpoint): ChatCall {
  const url = new URL(`${endpoint.baseURL.replace(/\/+$/, '')}/chat/completions`);
  const secure = url.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  const agent = secure ? endpoint.agents.https : endpoint.agents.http;
  // The headers as one flat list, checked once here: given a list, node:http writes it as it is
  // instead of validating and storing each header again on every call (~10 µs a call).
  const fixed: string[] = [];
  for (const [name, value] of Object.entries({ host: url.host, 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'nearmesh', ...endpoint.headers })) {
    validateHeaderName(name);
    validateHeaderValue(name, value);
    fixed.push(name, value);
  }
  // As node:http reads a URL: an IPv6 literal without its brackets.
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const options = { protocol: url.protocol, hostname, port: url.port, path: `${url.pathname}${url.search}`, method: 'POST', agent };
  return (body, signal) =>
    new Promise<ChatCompletion>((resolve, reject) => {
      if (signal.aborted) return reject(new APIUserAbortError());
      const text = JSON.stringify(body);
      const req = send({ ...options, headers: [...fixed, 'content-length', String(Buffer.byteLength(text))] }, (res) => {
        readAll(res).then((bytes) => {
          try {
            resolve(answer(res, bytes));
          } catch (err) {
            reject(err);
          }
        }, (err: unknown) => reject(connectionError(err)));
      });
      const onAbort = () => req.destroy(new APIUserAbortError());
      signal.addEventListener('abort', onAbort, { once: true });
      req.once('close', () => signal.removeEventListener('abort', onAbort));
      req.once('error', (err) => reject(err instanceof APIUserAbortError ? err : connectionError(err)));
      req.end(text);
    });
}

function connectionError(err: unknown): APIConnectionError {
  return new APIConnectionError({ message: err instanceof Error ? `Connection error: ${err.message}` : 'Connection error.', cause: err instanceof Error ? err : undefined });
}

function readAll(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_ANSWER_BYTES) return void chunks.push(chunk);
      chunks.length = 0;
      reject(tooLarge());
      res.destroy();
    });
    res.once('end', () => resolve(Buffer.concat(chunks)));
    res.once('error', reject);
    // The connection went away before the answer was whole.
    res.once('close', () => {
      if (!res.complete) reject(new Error('the connection closed before the response was complete'));
    });
  });
}

function tooLarge(): Error {
  return new Error(`the answer is over ${MAX_ANSWER_BYTES / 1024 / 1024} MiB, more than any completion; the server or a proxy in front of it is misbehaving`);
}

/** No Accept-Encoding is sent, but a server or proxy may compress anyway: decoded as fetch would, up to the cap. */
const LIMIT = { maxOutputLength: MAX_ANSWER_BYTES };
const DECODERS: Record<string, (bytes: Buffer) => Buffer> = {
  gzip: (b) => gunzipSync(b, LIMIT),
  'x-gzip': (b) => gunzipSync(b, LIMIT),
  deflate: (b) => inflateSync(b, LIMIT),
  br: (b) => brotliDecompressSync(b, LIMIT),
};

function decoded(decode: (bytes: Buffer) => Buffer, raw: Buffer): Buffer {
  try {
    return decode(raw);
  } catch (err) {
    throw (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? connectionError(tooLarge()) : err;
  }
}

/** The completion of a 2xx answer; otherwise the openai client's error for the status, with the server's error body and headers. */
function answer(res: IncomingMessage, raw: Buffer): ChatCompletion {
  const decode = DECODERS[rawHeader(res, 'content-encoding')?.trim().toLowerCase() ?? ''];
  const bytes = decode && raw.length > 0 ? decoded(decode, raw) : raw;
  const text = bytes.toString('utf8');
  const status = res.statusCode ?? 0;
  if (status >= 200 && status < 300) return JSON.parse(text) as ChatCompletion;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  // As the client builds it: the body's `error` object, or the text when the body is not JSON.
  throw APIError.generate(status, json as object | undefined, json === undefined ? text : undefined, new MessageHeaders(res) as unknown as Headers);
}

/**
 * One header of the answer from its raw list: `res.headers` builds an object of every header
 * (a real API sends twenty) on first use, which an answer read for its body does not need.
 */
function rawHeader(res: IncomingMessage, lowerName: string): string | undefined {
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.length === lowerName.length && raw[i]!.toLowerCase() === lowerName) return raw[i + 1];
  return undefined;
}

/** What the openai client's errors read of a Headers (`get`), over node:http's lower-cased record. */
class MessageHeaders {
  readonly #res: IncomingMessage;

  constructor(res: IncomingMessage) {
    this.#res = res;
  }

  get(name: string): string | null {
    const value = this.#res.headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.#res.headers[name.toLowerCase()] !== undefined;
  }
}
