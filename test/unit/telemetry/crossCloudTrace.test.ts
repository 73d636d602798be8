import { describe, expect, it } from 'vitest';
import { decodeEventBridgeEvent, decodeServiceBusMessage, encodePutEventsEntry, encodeServiceBusMessage, fromReceivedMessage } from '../../../shared/buses/index.ts';
import { inputTraceContext, parseTraceparent, stampTraceContext, type Envelope } from '../../../shared/core/index.ts';

/*
 * One trace from AWS to Azure and back, hop by hop through the codecs: a result sent to Service
 * Bus is read back by the Azure function with its trace context, and its result, sent to
 * EventBridge (which delivers neither extensions nor TraceHeader to a target), is read back by
 * the Lambda from the Detail's lineage.
 */

const TRACE_ID = '5759e988bd862e3fe1be46a994272793';

function result(id: string, spanId: string): Envelope {
  const envelope: Envelope = {
    event: {
      specversion: '1.0',
      id,
      source: 'nearmesh.order-risk',
      type: 'OrderRiskScored',
      time: '2026-03-02T09:00:00Z',
      datacontenttype: 'application/json',
      data: { result: { score: 3 }, provenance: { route: 'order-risk' }, lineage: { resultId: id, inputId: 'in-1', inputSource: 's', inputType: 't', correlationId: 'in-1', route: 'order-risk' } },
      extensions: { correlationid: 'in-1', causationid: 'in-1' },
    },
    origin: { transport: 'eventbridge', cloud: 'aws', region: 'us-east-1' },
  };
  stampTraceContext(envelope, { traceId: TRACE_ID, spanId, sampled: true, tracestate: 'aws=1' });
  return envelope;
}

describe('one trace across clouds', () => {
  it('AWS → Azure: the Service Bus message carries traceparent, tracestate and Diagnostic-Id, and decodes to the same context', () => {
    const sent = encodeServiceBusMessage(result('r-1', 'aaaaaaaaaaaaaaaa'));
    expect(sent.applicationProperties).toMatchObject({
      traceparent: `00-${TRACE_ID}-aaaaaaaaaaaaaaaa-01`,
      'Diagnostic-Id': `00-${TRACE_ID}-aaaaaaaaaaaaaaaa-01`,
      tracestate: 'aws=1',
    });

    const received = decodeServiceBusMessage(fromReceivedMessage(sent, { namespace: 'acme-support', entity: 'risk/Subscriptions/mesh' }));

    expect(inputTraceContext(received.event)).toEqual({ traceId: TRACE_ID, spanId: 'aaaaaaaaaaaaaaaa', sampled: true, tracestate: 'aws=1' });
  });

  it('Azure → AWS: the PutEvents entry has the X-Ray TraceHeader, and the delivered event (no TraceHeader, no extensions) keeps the trace in its Detail', () => {
    const entry = encodePutEventsEntry(result('r-2', 'bbbbbbbbbbbbbbbb'), 'acme-orders');
    expect(entry.TraceHeader).toBe('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=bbbbbbbbbbbbbbbb;Sampled=1');

    // What a rule target receives: EventBridge's own id and fields, the Detail as sent, nothing else.
    const delivered = decodeEventBridgeEvent({ version: '0', id: 'eb-1', 'detail-type': entry.DetailType, source: entry.Source, account: '1', time: '2026-03-02T09:00:01Z', region: 'us-east-1', resources: [], detail: JSON.parse(entry.Detail) });

    expect(inputTraceContext(delivered.event)).toMatchObject({ traceId: TRACE_ID, spanId: 'bbbbbbbbbbbbbbbb', sampled: true });
  });

  it('a result whose traceparent is not ours is written out in its parsed form only', () => {
    const r = result('r-3', 'cccccccccccccccc');
    r.event.extensions.traceparent = 'bogus';
    const sent = encodeServiceBusMessage(r);
    expect(sent.applicationProperties.traceparent).toBeUndefined();
    expect(sent.applicationProperties['Diagnostic-Id']).toBeUndefined();
    expect(parseTraceparent(encodePutEventsEntry(r, 'b').TraceHeader)).toBeUndefined();
  });
});
