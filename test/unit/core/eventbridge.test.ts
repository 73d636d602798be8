import { describe, expect, it } from 'vitest';
import { eventBridgeToEnvelope, toEventBridgeEvent, type EventBridgeEvent, type Envelope } from '../../../shared/core/index.ts';

const ebEvent: EventBridgeEvent = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'OrderPlaced',
  source: 'com.acme.orders',
  account: '111122223333',
  time: '2026-11-22T08:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:dynamodb:us-east-1:111122223333:table/orders'],
  detail: { orderId: 'A-1', total: 10 },
};

describe('EventBridge ↔ CloudEvents mapping', () => {
  it('maps detail-type to type and detail to data', () => {
    const { event, origin } = eventBridgeToEnvelope(ebEvent);
    expect(event).toMatchObject({ specversion: '1.0', id: ebEvent.id, source: 'com.acme.orders', type: 'OrderPlaced', time: ebEvent.time, data: ebEvent.detail });
    expect(origin).toMatchObject({ transport: 'eventbridge', cloud: 'aws', region: 'us-east-1', account: '111122223333' });
  });

  it('round-trips an EventBridge event without loss', () => {
    expect(toEventBridgeEvent(eventBridgeToEnvelope(ebEvent))).toEqual(ebEvent);
  });

  it('round-trips a replayed event with a non-default version', () => {
    const replayed = { ...ebEvent, version: '1', 'replay-name': 'night-replay', resources: [] };
    expect(toEventBridgeEvent(eventBridgeToEnvelope(replayed))).toEqual(replayed);
  });

  it('keeps account, region and resources as extensions so a forwarded CloudEvent still says where it was born', () => {
    const { event } = eventBridgeToEnvelope(ebEvent);
    expect(event.extensions).toEqual({
      awsaccount: '111122223333',
      awsregion: 'us-east-1',
      awsresources: JSON.stringify(ebEvent.resources),
    });
    const forwarded: Envelope = { event, origin: { transport: 'http' } };
    expect(toEventBridgeEvent(forwarded)).toEqual(ebEvent);
  });

  it('gives any CloudEvent an EventBridge view, region and account from its origin', () => {
    const envelope: Envelope = {
      event: { specversion: '1.0', id: 'c-1', source: 'urn:acme:erp', type: 'InvoiceReceived', data: { n: 1 }, extensions: {} },
      origin: { transport: 'servicebus', cloud: 'azure', region: 'westeurope', namespace: 'acme' },
    };
    expect(toEventBridgeEvent(envelope)).toEqual({
      version: '0',
      id: 'c-1',
      'detail-type': 'InvoiceReceived',
      source: 'urn:acme:erp',
      account: '',
      time: '',
      region: 'westeurope',
      resources: [],
      detail: { n: 1 },
    });
  });
});
