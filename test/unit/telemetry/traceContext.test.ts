import { describe, expect, it } from 'vitest';
import {
  formatTraceparent,
  newTraceContext,
  formatXrayTraceHeader,
  inputTraceContext,
  parseTraceparent,
  parseTracestate,
  parseXrayTraceHeader,
  type CloudEvent,
} from '../../../shared/core/index.ts';

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function event(extensions: CloudEvent['extensions'], data?: unknown): CloudEvent {
  return { specversion: '1.0', id: 'e-1', source: 'urn:test', type: 'T', extensions, ...(data === undefined ? {} : { data }) };
}

describe('traceparent', () => {
  it('reads a version 00 traceparent and writes it back the same', () => {
    const ctx = parseTraceparent(TP);
    expect(ctx).toEqual({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', sampled: true });
    expect(formatTraceparent(ctx!)).toBe(TP);
  });

  it('reads the sampled flag from bit 0 only', () => {
    expect(parseTraceparent(TP.replace(/01$/, '00'))?.sampled).toBe(false);
    expect(parseTraceparent(TP.replace(/01$/, '03'))?.sampled).toBe(true);
    expect(formatTraceparent(parseTraceparent(TP.replace(/01$/, '03'))!)).toBe(TP);
  });

  it.each([
    ['upper-case hex', TP.toUpperCase()],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-b7ad6b7169203331-01`],
    ['an all-zero span id', `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`],
    ['version ff', TP.replace(/^00/, 'ff')],
    ['version 00 with a suffix', `${TP}-extra`],
    ['a short trace id', '00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01'],
    ['injected text', `${TP}\r\nx-evil: 1`],
    ['a number', 42],
    ['a huge string', `00-${'a'.repeat(5000)}`],
  ])('ignores %s', (_what, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it('accepts a later version by its first four fields', () => {
    expect(parseTraceparent(`01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future`)?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
  });
});

describe('tracestate', () => {
  it('keeps well-formed members, normalised', () => {
    expect(parseTracestate('rojo=00f067aa0ba902b7, congo=t61rcWkgMzE')).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
    expect(parseTracestate('tenant@vendor=x')).toBe('tenant@vendor=x');
  });

  it('drops the whole header when a member is malformed or it is too long', () => {
    expect(parseTracestate('rojo=1,Bad Key=2')).toBeUndefined();
    expect(parseTracestate('rojo=a,b=c\n')).toBeUndefined();
    expect(parseTracestate(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(','))).toBeUndefined();
    expect(parseTracestate('')).toBeUndefined();
  });
});

describe('X-Ray trace header', () => {
  it('maps Root to the W3C trace id, Parent to the span id and Sampled to the flag', () => {
    expect(parseXrayTraceHeader('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1')).toEqual({
      traceId: '5759e988bd862e3fe1be46a994272793',
      spanId: '53995c3f42cd8ad8',
      sampled: true,
    });
    expect(parseXrayTraceHeader('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:1|68fd508a:5')?.sampled).toBe(false);
  });

  it('keeps the trace id of a header without a Parent, with a fresh span id', () => {
    const ctx = parseXrayTraceHeader('Root=1-5759e988-bd862e3fe1be46a994272793');
    expect(ctx?.traceId).toBe('5759e988bd862e3fe1be46a994272793');
    expect(ctx?.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(ctx?.sampled).toBe(false);
  });

  it.each(['Root=2-5759e988-bd862e3fe1be46a994272793', 'Root=1-5759e988-bd862e3f', 'Parent=53995c3f42cd8ad8;Sampled=1', 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=xyz', ''])(
    'ignores %j',
    (header) => expect(parseXrayTraceHeader(header)).toBeUndefined(),
  );

  it('writes the X-Ray header of a W3C context', () => {
    expect(formatXrayTraceHeader(parseTraceparent('00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01')!)).toBe(
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
    );
  });
});

describe('the trace context of an input event', () => {
  const XRAY = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
  const LINEAGE_TP = '00-11111111111111111111111111111111-2222222222222222-01';

  it('prefers the CloudEvents traceparent, then the X-Ray header, then a result lineage', () => {
    expect(inputTraceContext(event({ traceparent: TP, awstraceheader: XRAY }))?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(inputTraceContext(event({ awstraceheader: XRAY }, { lineage: { traceparent: LINEAGE_TP } }))?.traceId).toBe('5759e988bd862e3fe1be46a994272793');
    expect(inputTraceContext(event({}, { lineage: { traceparent: LINEAGE_TP, tracestate: 'a=b' } }))).toEqual({
      traceId: '11111111111111111111111111111111',
      spanId: '2222222222222222',
      sampled: true,
      tracestate: 'a=b',
    });
  });

  it('falls through a malformed traceparent to the next source, and to nothing', () => {
    expect(inputTraceContext(event({ traceparent: 'garbage', awstraceheader: XRAY }))?.traceId).toBe('5759e988bd862e3fe1be46a994272793');
    expect(inputTraceContext(event({ traceparent: 'garbage' }, { lineage: 'x' }))).toBeUndefined();
  });

  it('keeps the tracestate beside its traceparent', () => {
    expect(inputTraceContext(event({ traceparent: TP, tracestate: 'rojo=00f067aa0ba902b7' }))?.tracestate).toBe('rojo=00f067aa0ba902b7');
  });
});

describe('new trace ids', () => {
  it('are well-formed W3C ids, never repeated, across refills of the random pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      const c = newTraceContext();
      expect(c.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(c.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(parseTraceparent(formatTraceparent(c))).toEqual(c);
      seen.add(c.traceId);
      seen.add(c.spanId);
    }
    expect(seen.size).toBe(10_000);
  });
});
