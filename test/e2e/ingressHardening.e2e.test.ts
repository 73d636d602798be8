import { request as httpRequest } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope, EventOutcome } from '../../shared/core/index.ts';
import { DevServer, type LocalMesh } from '../../shared/runtime/index.ts';
import { startDev, type DevProcess } from './devProcess.ts';

/*
 * The local ingress under hostile input, as a probe found it: every malformed request is a
 * 4xx whose code says "do not retry" and whose message says what and where; only the mesh's
 * own faults are 5xx. Requests go over raw HTTP so the test controls every byte and header.
 */

let dev: DevProcess;
let port: number;
let token: string;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary wire fields
  json: any;
}

/** One request with exactly these headers and bytes (Host included, when given). */
function send(method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const CE = { 'content-type': 'application/cloudevents+json' };
const AWS = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' };
const event = (over: Record<string, unknown> = {}) => JSON.stringify({ specversion: '1.0', id: `h-${Math.random()}`, source: 'com.acme.probe', type: 'Probe', data: {}, ...over });
const putEvents = (entries: unknown[]) => JSON.stringify({ Entries: entries });

/** A CloudEvents error: a JSON problem body, a 4xx, a code that says do not retry, a message that says what. */
function expectProblem(a: Answer, status: number, code: string, message: RegExp | string): void {
  expect(a.status).toBe(status);
  expect(a.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(a.json).toMatchObject({ status, error: code, retryable: false });
  expect(a.json.message).toMatch(message);
}

/** A PutEvents error in the AWS JSON 1.1 shape the SDK reads. */
function expectAwsError(a: Answer, status: number, type: string, message: RegExp | string): void {
  expect(a.status).toBe(status);
  expect(a.headers['x-amzn-errortype']).toBe(type);
  expect(a.json.__type).toBe(type);
  expect(a.json.message).toMatch(message);
}

beforeAll(async () => {
  dev = await startDev(['--skip-samples']);
  port = Number(new URL(dev.url).port);
  await dev.waitFor(/Serving on/);
  token = (JSON.parse(await readFile(join(dev.home, 'dev.json'), 'utf8')) as { token: string }).token;
});

afterAll(async () => {
  await dev?.dispose();
});

describe('the ingress refuses hostile input with a do-not-retry 4xx', () => {
  const deep = '['.repeat(10_000) + ']'.repeat(10_000);

  it('JSON nested 10,000 deep: 400 on both APIs, not a retryable 500', async () => {
    expectProblem(await send('POST', '/cloudevents', CE, event({ data: JSON.parse('[]') }).replace('"data":[]', `"data":${deep}`)), 400, 'InvalidEvent', /nested deeper than 64/);
    expectAwsError(await send('POST', '/', AWS, `{"Entries":${deep}}`), 400, 'ValidationException', /nested deeper than 64/);
    const entry = await send('POST', '/', AWS, putEvents([{ Source: 's', DetailType: 't', Detail: `{"a":${deep}}` }]));
    expect(entry.status).toBe(200);
    expect(entry.json.Entries[0]).toMatchObject({ ErrorCode: 'InvalidArgument', ErrorMessage: expect.stringMatching(/Entries\[0\]\.Detail: nested deeper/) });
  });

  it('a NUL in an id, source or type: 400 naming the attribute, and no store path in the answer', async () => {
    for (const attr of ['id', 'source', 'type']) {
      const a = await send('POST', '/cloudevents', CE, event({ [attr]: 'x\u0000y' }));
      expectProblem(a, 400, 'InvalidEvent', `cloudevent.${attr}: contains a control character`);
      expect(a.text).not.toContain(dev.home);
    }
    const entry = await send('POST', '/', AWS, putEvents([{ Source: 's\u0000', DetailType: 't', Detail: '{}' }]));
    expect(entry.json.Entries[0].ErrorMessage).toContain('Entries[0].Source');
  });

  it('a body over the cap: 413 with a code and a message that give the limit', async () => {
    const big = Buffer.alloc(1024 * 1024 + 10, 0x20);
    expectProblem(await send('POST', '/cloudevents', CE, big), 413, 'PayloadTooLarge', /1048576 bytes/);
    expectAwsError(await send('POST', '/', AWS, big), 413, 'RequestEntityTooLargeException', /1048576 bytes/);
  });

  it('one event over 256 KB: refused on both APIs, as EventBridge does', async () => {
    const detail = JSON.stringify({ blob: 'x'.repeat(300 * 1024) });
    expectAwsError(await send('POST', '/', AWS, putEvents([{ Source: 's', DetailType: 't', Detail: detail }])), 400, 'ValidationException', /Entries\[0\].*262144/);
    expectProblem(await send('POST', '/cloudevents', CE, event({ data: { blob: 'x'.repeat(300 * 1024) } })), 413, 'EventTooLarge', /262144/);
    const batch = JSON.stringify([JSON.parse(event()), JSON.parse(event({ data: { blob: 'x'.repeat(300 * 1024) } }))]);
    expectProblem(await send('POST', '/cloudevents', { 'content-type': 'application/cloudevents-batch+json' }, batch), 413, 'EventTooLarge', /batch\[1\]/);
  });

  it('a batch over 100 events: 400 that gives the limit', async () => {
    const batch = JSON.stringify(Array.from({ length: 101 }, () => JSON.parse(event())));
    expectProblem(await send('POST', '/cloudevents', { 'content-type': 'application/cloudevents-batch+json' }, batch), 400, 'InvalidEvent', /at most 100/);
  });

  it('1e400: 400 naming the path instead of storing null', async () => {
    const body = event().replace('"data":{}', '"data":{"amount":1e400}');
    expectProblem(await send('POST', '/cloudevents', CE, body), 400, 'InvalidEvent', 'cloudevent.data.amount');
  });

  it('bytes that are not UTF-8: 400, not silently rewritten', async () => {
    const body = Buffer.concat([Buffer.from(event().replace('"data":{}', '"data":"')), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    expectProblem(await send('POST', '/cloudevents', CE, body), 400, 'InvalidEvent', /not valid UTF-8/);
  });

  it('media types compared whole: charset allowed, look-alikes and other types 415', async () => {
    expect((await send('POST', '/cloudevents', { 'content-type': 'application/cloudevents+json; charset=utf-8' }, event())).status).toBe(200);
    expectProblem(await send('POST', '/cloudevents', { 'content-type': 'application/cloudevents+jsonx' }, event()), 415, 'UnsupportedMediaType', 'application/cloudevents+json');
    expectProblem(await send('POST', '/cloudevents', { 'content-type': 'text/plain' }, 'hello'), 415, 'UnsupportedMediaType', 'application/cloudevents+json');
    expectAwsError(await send('POST', '/', { ...AWS, 'content-type': 'text/plain' }, putEvents([])), 415, 'UnsupportedMediaTypeException', 'application/x-amz-json-1.1');
  });

  it('bad admin query values and a malformed request target: 400 saying what was wrong', async () => {
    const auth = { authorization: `Bearer ${token}` };
    expectProblem(await send('GET', '/_mesh/events?limit=abc', auth), 400, 'BadRequest', /limit.*"abc"/);
    expectProblem(await send('GET', '/_mesh/events?kind=everything', auth), 400, 'BadRequest', /kind/);
    expectProblem(await send('GET', '/_mesh/failed?since=yesterday', auth), 400, 'BadRequest', /since/);
    expectProblem(await send('GET', '/_mesh/failed/%E0%A4%A', auth), 400, 'BadRequest', /percent-encoding/);
    expectProblem(await send('GET', '//[', auth), 400, 'BadRequest', /request target/);
  });
});

describe('only loopback names reach the ingress and the admin API (DNS rebinding)', () => {
  it('refuses another Host with 421, on every API', async () => {
    const evil = { host: `rebind.example:${port}` };
    expectProblem(await send('POST', '/cloudevents', { ...CE, ...evil }, event()), 421, 'MisdirectedRequest', /Host/);
    expect((await send('POST', '/', { ...AWS, ...evil }, putEvents([{ Source: 's', DetailType: 't', Detail: '{}' }]))).status).toBe(421);
    expect((await send('GET', '/_mesh/failed', { authorization: `Bearer ${token}`, ...evil })).status).toBe(421);
    expect((await send('GET', '/_mesh/health', { host: `127.0.0.1:${port + 1}` })).status).toBe(421);
  });

  it('accepts 127.0.0.1, localhost and [::1] on the port it serves', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      expect((await send('GET', '/_mesh/health', { host })).status).toBe(200);
    }
  });

  it('says only {"status":"ok"} on health without the token, the details with it', async () => {
    const open = await send('GET', '/_mesh/health');
    expect(open.json).toEqual({ status: 'ok' });
    const detailed = await send('GET', '/_mesh/health', { authorization: `Bearer ${token}` });
    expect(detailed.json).toMatchObject({ status: 'ok', pid: expect.any(Number), routes: expect.any(Array) });
  });
});

describe('the server in-process, with a pipeline the test controls', () => {
  /** A DevServer over a mesh whose pipeline runs `process`; `port` is set for `send`. */
  async function serve(process: (envelope: Envelope, options: { signal?: AbortSignal }) => Promise<EventOutcome>, onInternalError?: (err: unknown, request: string) => void) {
    const mesh = { pipeline: { process }, routes: [], config: { models: [], sources: {} } } as unknown as LocalMesh;
    const server = new DevServer({ mesh, port: 0, ...(onInternalError ? { onInternalError } : {}) });
    port = await server.listen();
    return server;
  }

  it('aborts the pipeline work of a request whose client left', async () => {
    let seen: AbortSignal | undefined;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const server = await serve(
      (envelope, { signal }) =>
        new Promise((resolve) => {
          seen = signal;
          started();
          signal?.addEventListener('abort', () => resolve({ eventId: envelope.event.id, type: envelope.event.type, source: envelope.event.source, routes: [] }));
        }),
    );
    const saved = port;
    try {
      const req = httpRequest({ host: '127.0.0.1', port: saved, method: 'POST', path: '/cloudevents', headers: CE });
      req.on('error', () => {});
      req.end(event());
      await running;

      req.destroy();
      await expect.poll(() => seen?.aborted, { timeout: 5_000 }).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('answers the mesh’s own fault with a 500 that keeps its details for the console, and tells the console', async () => {
    const told: string[] = [];
    const server = await serve(
      () => Promise.reject(new Error('database /home/someone/.nearmesh/store.db is locked')),
      (err, request) => told.push(`${request}: ${(err as Error).message}`),
    );
    try {
      const ce = await send('POST', '/cloudevents', CE, event());
      expect(ce.status).toBe(500);
      expect(ce.json).toMatchObject({ status: 500, retryable: true });
      expect(ce.text).not.toContain('/home/someone');

      const aws = await send('POST', '/', AWS, putEvents([{ Source: 's', DetailType: 't', Detail: '{}' }]));
      expect(aws.json.Entries[0]).toMatchObject({ ErrorCode: 'InternalFailure' });
      expect(aws.text).not.toContain('/home/someone');

      expect(told).toEqual([expect.stringMatching(/^POST \/cloudevents: database .* is locked$/), expect.stringMatching(/^PutEvents Entries\[0\]: database/)]);
    } finally {
      await server.close();
    }
  });
});
