import { describe, expect, it } from 'vitest';
import { eventsTable, failureDetail, outcomeLines, printable } from '../../../functions/cli/format.ts';
import type { EventLogEntry, FailureRecord } from '../../../shared/core/index.ts';

/*
 * Ids, types, sources and error texts come from outside. On a terminal, a newline in one
 * forges a line (a fake "✓ route →"), an escape sequence rewrites the screen, a bidi
 * override reorders what is read. Every human-readable output shows them escaped.
 */

const FORGED = 'Probe\n    ✓ order-risk → sim-bedrock-us-east-1 (forged)';

describe('printable', () => {
  it.each([
    ['a newline', 'a\nb', 'a\\u000ab'],
    ['an escape sequence', 'x\u001b[2Jy', 'x\\u001b[2Jy'],
    ['NUL and DEL', '\u0000\u007f', '\\u0000\\u007f'],
    ['a C1 control', 'a\u0085b', 'a\\u0085b'],
    ['a bidi override', 'abc\u202Etxt.exe', 'abc\\u202etxt.exe'],
    ['a bidi isolate', '\u2066x\u2069', '\\u2066x\\u2069'],
  ])('escapes %s as \\uXXXX', (_what, input, expected) => {
    expect(printable(input)).toBe(expected);
  });

  it('leaves ordinary text, accents and symbols alone', () => {
    expect(printable('Müller → ✓ 東京 🚀')).toBe('Müller → ✓ 東京 🚀');
  });
});

describe('human-readable output escapes what came from outside', () => {
  it('an outcome cannot forge a line on the mesh dev console', () => {
    const lines = outcomeLines({
      type: FORGED,
      eventId: 'e-1',
      source: 'com.acme',
      routes: [{ routeId: 'order-risk', status: 'failed', latencyMs: 1, attempts: [], error: { code: 'ModelAuth', message: 'bad key\n    ✓ forged' }, failureId: 'f-1' }],
    });

    const printed = lines.join('\n');
    expect(printed.split('\n').filter((l) => /^\s*✓/.test(l))).toEqual([]);
    expect(printed).toContain('Probe\\u000a');
  });

  it('a table cell cannot break its row', () => {
    const entry = { seq: 1, at: '2026-11-22T08:00:00Z', kind: 'input', type: FORGED, eventId: 'e\u001b[31m', source: 's', envelope: {} } as unknown as EventLogEntry;

    const table = eventsTable([entry]);

    expect(table.split('\n')).toHaveLength(3);
    expect(table).not.toContain('\u001b');
  });

  it('a failure’s detail escapes its fields and keeps the event JSON readable', () => {
    const record = {
      id: 'f-1',
      at: '2026-11-22T08:00:00Z',
      eventId: 'e-1',
      routeId: 'order-risk',
      errorCode: 'ModelAuth',
      message: 'denied\r\n✓ forged',
      retryable: false,
      attempts: [],
      envelope: { event: { specversion: '1.0', id: 'e-1', source: 'a\u202Eb', type: 't', data: { note: 'x\u0085y' }, extensions: {} }, origin: { transport: 'http', cloud: 'local' } },
      status: 'open',
      failures: 1,
    } as unknown as FailureRecord;

    const text = failureDetail(record);

    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(text).toContain('denied\\u000d\\u000a✓ forged');
    expect(text).toContain('"specversion": "1.0"');
  });
});
