import { describe, expect, it } from 'vitest';
import {
  decodeAny,
  decodeBinaryCloudEvent,
  decodeEventBridgeEvent,
  decodePutEventsEntry,
  decodeServiceBusMessage,
  decodeStructuredCloudEvent,
  detectEventKind,
  encodePutEventsEntry,
} from '../../../shared/buses/index.ts';
import { InvalidEventError, toEventBridgeEvent } from '../../../shared/core/index.ts';

const httpOrigin = { transport: 'http' as const, cloud: 'local' as const };
const putCtx = { id: 'new-id', now: new Date('2026-11-22T08:00:00.123Z'), region: 'us-east-1', account: '000000000000' };

function thrown(fn: () => unknown): InvalidEventError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidEventError) return err;
    throw err;
  }
  throw new Error('expected an InvalidEventError');
}

describe('PutEvents entries', () => {
  it('become the event EventBridge would deliver: assigned id, region, account, second-precision time', () => {
    const env = decodePutEventsEntry({ Source: 'com.acme.orders', DetailType: 'OrderPlaced', Detail: '{"total":5}', Resources: ['arn:x'] }, putCtx);
    expect(toEventBridgeEvent(env)).toEqual({
      version: '0',
      id: 'new-id',
      'detail-type': 'OrderPlaced',
      source: 'com.acme.orders',
      account: '000000000000',
      time: '2026-11-22T08:00:00Z',
      region: 'us-east-1',
      resources: ['arn:x'],
      detail: { total: 5 },
    });
    expect(env.origin.bus).toBe('default');
  });

  it('names the entry and field when Detail is not JSON', () => {
    const err = thrown(() => decodePutEventsEntry({ Source: 's', DetailType: 't', Detail: '{oops' }, putCtx, 'Entries[3]'));
    expect(err.message).toMatch(/^Entries\[3\]\.Detail: not valid JSON/);
  });

  it('rejects a missing DetailType with the field and what was found', () => {
    const err = thrown(() => decodePutEventsEntry({ Source: 's', Detail: '{}' }, putCtx));
    expect(err.message).toBe('entry.DetailType: expected a non-empty string, got nothing (the field is missing)');
  });

  it('takes the bus name from an ARN and round-trips through encode', () => {
    const env = decodePutEventsEntry(
      { Source: 's', DetailType: 't', Detail: '{"a":1}', EventBusName: 'arn:aws:events:us-east-1:1:event-bus/orders', TraceHeader: 'Root=1-abc' },
      putCtx,
    );
    expect(env.origin.bus).toBe('orders');
    expect(encodePutEventsEntry(env, 'orders')).toEqual({
      Source: 's',
      DetailType: 't',
      Detail: '{"a":1}',
      EventBusName: 'orders',
      Time: '2026-11-22T08:00:00Z',
      TraceHeader: 'Root=1-abc',
    });
  });
});

describe('EventBridge events', () => {
  it('rejects a bad time with an example of a good one', () => {
    const err = thrown(() => decodeEventBridgeEvent({ id: '1', 'detail-type': 't', source: 's', time: 'yesterday', detail: {} }));
    expect(err.message).toContain('event.time: expected an RFC 3339 timestamp');
  });
});

describe('CloudEvents', () => {
  it('decodes structured mode, keeping extensions', () => {
    const env = decodeStructuredCloudEvent(
      { specversion: '1.0', id: 'c1', source: 'urn:erp', type: 'InvoiceReceived', datalocation: 'azure:westeurope', data: { a: 1 } },
      httpOrigin,
    );
    expect(env.event).toEqual({ specversion: '1.0', id: 'c1', source: 'urn:erp', type: 'InvoiceReceived', data: { a: 1 }, extensions: { datalocation: 'azure:westeurope' } });
  });

  it('rejects specversion 0.3 and invalid extension names', () => {
    expect(thrown(() => decodeStructuredCloudEvent({ specversion: '0.3', id: '1', source: 's', type: 't' }, httpOrigin)).message).toContain('only CloudEvents 1.0');
    expect(thrown(() => decodeStructuredCloudEvent({ specversion: '1.0', id: '1', source: 's', type: 't', Data_Loc: 'x' }, httpOrigin)).message).toContain(
      'cloudevent.Data_Loc: extension attribute names',
    );
  });

  it('decodes data_base64 by its content type', () => {
    const env = decodeStructuredCloudEvent(
      { specversion: '1.0', id: '1', source: 's', type: 't', datacontenttype: 'application/json', data_base64: Buffer.from('{"x":2}').toString('base64') },
      httpOrigin,
    );
    expect(env.event.data).toEqual({ x: 2 });
  });

  it('decodes binary mode: ce-* headers are attributes, percent-decoded, and the body is data', () => {
    const env = decodeBinaryCloudEvent(
      { 'ce-specversion': '1.0', 'ce-id': 'b1', 'ce-source': 'urn:x', 'ce-type': 'T', 'ce-subject': 'a%20b', 'ce-correlationid': 'corr-1', 'content-type': 'application/json' },
      Buffer.from('{"k":"v"}'),
      httpOrigin,
    );
    expect(env.event).toMatchObject({ id: 'b1', source: 'urn:x', type: 'T', subject: 'a b', datacontenttype: 'application/json', data: { k: 'v' } });
    expect(env.event.extensions).toEqual({ correlationid: 'corr-1' });
  });
});

describe('Service Bus messages (CloudEvents AMQP binding)', () => {
  const sources = { 'acme-support': { cloud: 'azure' as const, region: 'westeurope' } };

  it('reads cloudEvents:-prefixed properties as binary mode and takes the region from mesh.yaml sources', () => {
    const env = decodeServiceBusMessage(
      {
        namespace: 'acme-support',
        entity: 'tickets',
        contentType: 'application/json',
        applicationProperties: { 'cloudEvents:specversion': '1.0', 'cloudEvents:id': 't-1', 'cloudEvents:source': 'urn:crm', 'cloudEvents:type': 'TicketOpened' },
        body: { subject: 'help' },
        deliveryCount: 2,
      },
      sources,
    );
    expect(env.event).toMatchObject({ id: 't-1', source: 'urn:crm', type: 'TicketOpened', data: { subject: 'help' } });
    expect(env.origin).toEqual({ transport: 'servicebus', cloud: 'azure', namespace: 'acme-support', bus: 'tickets', deliveryCount: 2, region: 'westeurope' });
  });

  it('uses subject as type and messageId as id for a plain JSON message', () => {
    const env = decodeServiceBusMessage({ namespace: 'acme-support.servicebus.windows.net', entity: 'tickets', messageId: 'm-1', subject: 'TicketOpened', body: '{"a":1}', contentType: 'application/json' }, sources);
    expect(env.event).toMatchObject({ id: 'm-1', type: 'TicketOpened', source: 'servicebus://acme-support.servicebus.windows.net/tickets', data: { a: 1 } });
    expect(env.origin.region).toBe('westeurope');
  });

  it('reads a structured CloudEvent sent without a content type (what the Functions output binding sends), as text or parsed', () => {
    const event = { specversion: '1.0', id: 'r-1', source: 'urn:nearmesh:route/ticket-triage', type: 'TicketTriaged', correlationid: 'corr-1', data: { priority: 'p2' } };
    for (const body of [JSON.stringify(event), event]) {
      const env = decodeServiceBusMessage({ namespace: 'acme-support', entity: 'tickets-triaged', messageId: 'random-by-the-host', body }, sources);
      expect(env.event).toMatchObject({ id: 'r-1', type: 'TicketTriaged', data: { priority: 'p2' }, extensions: { correlationid: 'corr-1' } });
    }
  });

  it('keeps a plain text body without a content type as text: no type, so it says how to give one', () => {
    expect(thrown(() => decodeServiceBusMessage({ namespace: 'n', entity: 'e', messageId: 'm', body: '{ "specversion": broken' })).message).toContain('set the subject');
  });

  it('says how to give a plain message a type when it has none', () => {
    expect(thrown(() => decodeServiceBusMessage({ namespace: 'n', entity: 'e', messageId: 'm', body: {} })).message).toContain('set the subject');
  });
});

describe('detecting event files', () => {
  it('tells each shape apart', () => {
    expect(detectEventKind({ specversion: '1.0' })).toBe('cloudevent');
    expect(detectEventKind([])).toBe('cloudevent-batch');
    expect(detectEventKind({ 'detail-type': 'x' })).toBe('eventbridge-event');
    expect(detectEventKind({ DetailType: 'x' })).toBe('putevents-entry');
    expect(detectEventKind({ namespace: 'n', body: {} })).toBe('servicebus-message');
  });

  it('explains what it expected for an unknown shape', () => {
    expect(thrown(() => decodeAny({ hello: 1 }, { sources: {}, putEvents: putCtx, httpOrigin })).message).toContain('expected an EventBridge event');
  });
});
