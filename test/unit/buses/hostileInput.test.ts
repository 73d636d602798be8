import { describe, expect, it } from 'vitest';
import {
  decodeBinaryCloudEvent,
  decodeCloudEventBatch,
  decodeEventBridgeEvent,
  decodePutEventsEntry,
  decodeStructuredCloudEvent,
  decodeUtf8,
  MAX_BATCH_EVENTS,
  MAX_JSON_DEPTH,
  mediaType,
  parseJson,
} from '../../../shared/buses/index.ts';
import { InvalidEventError } from '../../../shared/core/index.ts';

/*
 * What a hostile or broken producer can send to the ingress. Each is the producer's
 * mistake, so each must be an InvalidEventError (a 400, never retried) that says what and
 * where — not a RangeError from deep in the stack, and not a quietly different event.
 */

const httpOrigin = { transport: 'http' as const, cloud: 'local' as const };
const putCtx = { id: 'new-id', now: new Date('2026-11-22T08:00:00Z'), region: 'us-east-1', account: '000000000000' };
const event = { specversion: '1.0', id: 'e-1', source: 'com.acme.orders', type: 'OrderPlaced', data: { total: 5 } };

function thrown(fn: () => unknown): InvalidEventError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidEventError) return err;
    throw err;
  }
  throw new Error('expected an InvalidEventError');
}

describe('JSON from the wire', () => {
  it('refuses nesting past the depth limit before parsing, without exhausting the stack', () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);

    const err = thrown(() => parseJson(deep, 'cloudevent'));

    expect(err.message).toMatch(new RegExp(`cloudevent: nested deeper than ${MAX_JSON_DEPTH} levels`));
  });

  it('counts brackets inside strings as text, not nesting', () => {
    const text = JSON.stringify({ note: '['.repeat(500) });

    expect(parseJson(text, 'cloudevent')).toEqual({ note: '['.repeat(500) });
  });

  it('accepts nesting up to the limit', () => {
    const ok = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);

    expect(() => parseJson(ok, 'cloudevent')).not.toThrow();
  });

  it('refuses a number that is not finite once parsed, naming its path, rather than storing null', () => {
    const err = thrown(() => parseJson('{"data":{"lines":[{"amount":1e400}]}}', 'cloudevent'));

    expect(err.message).toContain('cloudevent.data.lines[0].amount');
    expect(err.message).toMatch(/finite/);
  });

  it('names a key that is not an identifier in brackets, and the first such number in document order', () => {
    const err = thrown(() => parseJson('{"ok":[1,2.5,-0],"a":{"b c":[0,-1e999]},"z":1e999}', 'batch[3]'));

    expect(err.message).toBe('batch[3].a["b c"][1]: the number is too large to be a finite double (it would be stored as null); send it as a string');
  });

  it('refuses a top-level number that is not finite under the name it was given', () => {
    expect(thrown(() => parseJson('1e999', 'cloudevent')).message).toMatch(/^cloudevent: the number is too large/);
  });

  it('refuses bytes that are not UTF-8 instead of rewriting them', () => {
    const bytes = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);

    const err = thrown(() => decodeUtf8(bytes, 'body'));

    expect(err.message).toMatch(/body: not valid UTF-8/);
  });
});

describe('control characters in attributes', () => {
  it.each([
    ['id', { ...event, id: 'e-1\u0000' }, 'cloudevent.id'],
    ['source', { ...event, source: 'com.acme\n✓ route → forged' }, 'cloudevent.source'],
    ['type', { ...event, type: 'Order\u001b[2JPlaced' }, 'cloudevent.type'],
    ['data location', { ...event, datalocation: 'aws:eu-central-1\u0085' }, 'cloudevent.datalocation'],
  ])('refuses a CloudEvent whose %s has one, naming the attribute', (_what, input, where) => {
    const err = thrown(() => decodeStructuredCloudEvent(input, httpOrigin));

    expect(err.message).toContain(where);
    expect(err.message).toMatch(/control character/);
  });

  it('refuses them in a PutEvents entry', () => {
    const err = thrown(() => decodePutEventsEntry({ Source: 'com.acme\r\n', DetailType: 'OrderPlaced', Detail: '{}' }, putCtx, 'Entries[0]'));

    expect(err.message).toContain('Entries[0].Source');
  });

  it('refuses them in an EventBridge event', () => {
    const err = thrown(() =>
      decodeEventBridgeEvent({ id: 'e\u0000', 'detail-type': 'OrderPlaced', source: 'com.acme.orders', time: '2026-11-22T08:00:00Z', detail: {} }),
    );

    expect(err.message).toContain('event.id');
  });

  it('leaves them alone inside data, which is the producer’s business', () => {
    const env = decodeStructuredCloudEvent({ ...event, data: { note: 'line 1\nline 2' } }, httpOrigin);

    expect(env.event.data).toEqual({ note: 'line 1\nline 2' });
  });
});

describe('CloudEvents over HTTP', () => {
  it(`takes at most ${MAX_BATCH_EVENTS} events in a batch and says so`, () => {
    const batch = Array.from({ length: MAX_BATCH_EVENTS + 1 }, (_, i) => ({ ...event, id: `e-${i}` }));

    const err = thrown(() => decodeCloudEventBatch(batch, httpOrigin));

    expect(err.message).toContain(`at most ${MAX_BATCH_EVENTS}`);
    expect(decodeCloudEventBatch(batch.slice(0, MAX_BATCH_EVENTS), httpOrigin)).toHaveLength(MAX_BATCH_EVENTS);
  });

  it('refuses a binary-mode body that is not UTF-8', () => {
    const headers = { 'ce-specversion': '1.0', 'ce-id': 'b-1', 'ce-source': 's', 'ce-type': 't', 'content-type': 'text/plain' };

    const err = thrown(() => decodeBinaryCloudEvent(headers, Buffer.from([0xc3, 0x28]), httpOrigin));

    expect(err.message).toMatch(/body: not valid UTF-8/);
  });

  it('refuses a percent-encoded NUL in a binary-mode header', () => {
    const headers = { 'ce-specversion': '1.0', 'ce-id': 'b-%00', 'ce-source': 's', 'ce-type': 't', 'content-type': 'application/json' };

    const err = thrown(() => decodeBinaryCloudEvent(headers, Buffer.from('{}'), httpOrigin));

    expect(err.message).toContain('.id');
  });

  it.each([
    ['application/cloudevents+json', 'application/cloudevents+json'],
    ['Application/CloudEvents+JSON; charset=utf-8', 'application/cloudevents+json'],
    ['  application/cloudevents-batch+json ;charset=UTF-8', 'application/cloudevents-batch+json'],
    ['application/cloudevents+jsonx', 'application/cloudevents+jsonx'],
    [undefined, undefined],
  ])('reads the media type of %j as %j, parameters aside', (header, expected) => {
    expect(mediaType(header)).toBe(expected);
  });
});
