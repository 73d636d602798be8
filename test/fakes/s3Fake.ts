import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A wire-level fake of S3 PutObject and GetObject for the real S3Client, path-style
 * (`forcePathStyle: true`, `PUT /<bucket>/<key>`). Bodies sent `aws-chunked` (the SDK's
 * streaming checksum encoding) are unwrapped, so a test sees the bytes the caller gave.
 * Buckets must be created first; a PUT to another bucket is NoSuchBucket, as in S3.
 */

export interface StoredObject {
  body: Buffer;
  /** Lower-cased request headers as the object was put (content-type, x-amz-meta-*, checksums). */
  headers: Record<string, string>;
}

export interface S3Fake {
  /** `http://127.0.0.1:<port>`: AWS_ENDPOINT_URL_S3 or the client's `endpoint`. */
  url: string;
  /** Objects by `<bucket>/<key>`. */
  objects: Map<string, StoredObject>;
  /** Method and path of every request, in order. */
  requests: string[];
  /** Fail the next PUTs with this status and S3 error code. */
  failNextPuts(count: number, status: number, code: string): void;
  close(): Promise<void>;
}

export async function startS3Fake({ buckets }: { buckets: string[] }): Promise<S3Fake> {
  const objects = new Map<string, StoredObject>();
  const requests: string[] = [];
  let failures: { count: number; status: number; code: string } | undefined;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });

  function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer) {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push(`${req.method} ${url.pathname}`);
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    if (!buckets.includes(bucket)) return sendError(res, 404, 'NoSuchBucket', `The specified bucket does not exist: ${bucket}`);
    if (req.method === 'PUT' && key) {
      if (failures && failures.count > 0) {
        failures.count--;
        return sendError(res, failures.status, failures.code, failures.code);
      }
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const body = (headers['content-encoding'] ?? '').includes('aws-chunked') ? unchunk(raw) : raw;
      objects.set(`${bucket}/${key}`, { body, headers });
      res.writeHead(200, { etag: `"${body.length.toString(16)}"`, 'x-amz-request-id': 'fake' });
      return res.end();
    }
    if (req.method === 'GET' && key) {
      const o = objects.get(`${bucket}/${key}`);
      if (!o) return sendError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
      res.writeHead(200, { 'content-type': o.headers['content-type'] ?? 'application/octet-stream', 'content-length': String(o.body.length) });
      return res.end(o.body);
    }
    return sendError(res, 501, 'NotImplemented', `the fake speaks PutObject and GetObject only, not ${req.method} ${url.pathname}`);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    objects,
    requests,
    failNextPuts(count, status, code) {
      failures = { count, status, code };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** `aws-chunked`: `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` … `0\r\n<trailers>\r\n\r\n`. */
function unchunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(raw.subarray(at, eol).toString('latin1').split(';')[0]!, 16);
    if (!size) break;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function sendError(res: ServerResponse, status: number, code: string, message: string) {
  res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': 'fake' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>fake</RequestId></Error>`);
}
