import { describe, expect, it } from 'vitest';
import { parseDeadLetter, functionName } from '../../../shared/buses/index.ts';
import { InvalidEventError } from '../../../shared/core/index.ts';

const event = {
  version: '0',
  id: 'evt-1',
  'detail-type': 'OrderPlaced',
  source: 'com.acme.orders',
  account: '123456789012',
  time: '2026-03-02T09:14:05Z',
  region: 'eu-west-1',
  resources: [],
  detail: { orderId: 'ORD-1', total: 5 },
};

/** Lambda's on-failure destination record for an asynchronous invocation (the documented shape). */
const record = {
  version: '1.0',
  timestamp: '2026-03-02T09:20:00.123Z',
  requestContext: {
    requestId: 'e4b46cbf-b738-4b4b-8880-a18cdf61200e',
    functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:nearmesh-on-event:$LATEST',
    condition: 'RetriesExhausted',
    approximateInvokeCount: 3,
  },
  requestPayload: event,
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  responsePayload: { errorType: 'ModelsExhaustedError', errorMessage: 'every allowed endpoint failed', stackTrace: ['at invoke (invoke.ts:10)'] },
};

function invalid(fn: () => unknown): InvalidEventError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidEventError) return err;
    throw err;
  }
  throw new Error('expected an InvalidEventError');
}

describe('parseDeadLetter: Lambda on-failure destination records', () => {
  it('keeps the original event, unchanged, as the envelope to replay', () => {
    const letter = parseDeadLetter(JSON.stringify(record));
    expect(letter.kind).toBe('lambda-destination');
    expect(letter.envelope.event).toMatchObject({ id: 'evt-1', type: 'OrderPlaced', source: 'com.acme.orders', data: { orderId: 'ORD-1', total: 5 } });
    expect(letter.envelope.origin).toMatchObject({ transport: 'eventbridge', cloud: 'aws', region: 'eu-west-1', account: '123456789012' });
  });

  it('reads the error class, reason, attempts, function and request id', () => {
    const letter = parseDeadLetter(JSON.stringify(record));
    expect(letter).toMatchObject({
      at: '2026-03-02T09:20:00.123Z',
      errorCode: 'ModelsExhaustedError',
      reason: 'ModelsExhaustedError: every allowed endpoint failed',
      attempts: 3,
      functionArn: record.requestContext.functionArn,
      requestId: record.requestContext.requestId,
      condition: 'RetriesExhausted',
      stackTrace: ['at invoke (invoke.ts:10)'],
    });
    expect(letter.routeId).toBeUndefined();
  });

  it('says why when there is no response payload (the event expired before it ran)', () => {
    const { responsePayload: _, ...expired } = { ...record, requestContext: { ...record.requestContext, condition: 'EventAgeExceeded' } };
    const letter = parseDeadLetter(JSON.stringify(expired));
    expect(letter.errorCode).toBe('EventAgeExceeded');
    expect(letter.reason).toMatch(/older than the function's maximum event age/);
  });

  it('takes the route from the error payload when the handler put it there', () => {
    const letter = parseDeadLetter(JSON.stringify({ ...record, responsePayload: { ...record.responsePayload, routeId: 'order-risk' } }));
    expect(letter.routeId).toBe('order-risk');
  });

  it("reads the route from the mesh handler's `[route <id>]` message prefix and Lambda's `trace` field", () => {
    const fromLambda = {
      ...record,
      responsePayload: { errorType: 'PolicyViolation', errorMessage: '[route ticket-triage] PolicyViolation: no endpoint (event evt-1)', trace: ['PolicyViolation: no endpoint', '    at place'] },
    };
    const letter = parseDeadLetter(JSON.stringify(fromLambda));
    expect(letter.routeId).toBe('ticket-triage');
    expect(letter.stackTrace).toEqual(['PolicyViolation: no endpoint', '    at place']);
    expect(parseDeadLetter(JSON.stringify(record)).routeId).toBeUndefined();
  });

  it('rejects a record whose original event is not an EventBridge event, naming the field', () => {
    const err = invalid(() => parseDeadLetter(JSON.stringify({ ...record, requestPayload: { ...event, 'detail-type': undefined } })));
    expect(err.message).toMatch(/^event\.detail-type: expected a non-empty string/);
    expect(invalid(() => parseDeadLetter(JSON.stringify({ ...record, requestPayload: '{"id":"x"}' }))).message).toMatch(/^record\.requestPayload: expected the original event as a JSON object/);
  });

  it('rejects an invoke count that is not a whole number', () => {
    const err = invalid(() => parseDeadLetter(JSON.stringify({ ...record, requestContext: { ...record.requestContext, approximateInvokeCount: 'three' } })));
    expect(err.message).toMatch(/approximateInvokeCount: expected a whole number, got string "three"/);
  });
});

describe('parseDeadLetter: raw EventBridge events', () => {
  it('reads a Lambda DLQ message: the event as body, the reason in message attributes', () => {
    const letter = parseDeadLetter(JSON.stringify(event), { attributes: { ErrorCode: '200', ErrorMessage: 'Task timed out after 30.00 seconds', RequestID: 'r-1' }, sentAt: '2026-03-02T09:21:00.000Z' });
    expect(letter).toMatchObject({ kind: 'eventbridge-event', errorCode: '200', reason: 'Task timed out after 30.00 seconds', requestId: 'r-1', at: '2026-03-02T09:21:00.000Z' });
    expect(letter.envelope.event.id).toBe('evt-1');
  });

  it('reads an EventBridge target DLQ message (ERROR_CODE, ERROR_MESSAGE, TARGET_ARN)', () => {
    const letter = parseDeadLetter(JSON.stringify(event), { attributes: { ERROR_CODE: 'SDK_CLIENT_ERROR', ERROR_MESSAGE: 'Lambda throttled', TARGET_ARN: 'arn:aws:lambda:eu-west-1:1:function:f' } });
    expect(letter).toMatchObject({ errorCode: 'SDK_CLIENT_ERROR', reason: 'Lambda throttled', functionArn: 'arn:aws:lambda:eu-west-1:1:function:f' });
  });

  it('still lists an event kept without a reason', () => {
    expect(parseDeadLetter(JSON.stringify(event))).toMatchObject({ errorCode: 'DeadLettered', reason: expect.stringMatching(/without a reason/) });
  });
});

describe('parseDeadLetter: anything else', () => {
  it('rejects text that is not JSON, and JSON that is neither shape, saying what was expected', () => {
    expect(invalid(() => parseDeadLetter('not json')).message).toMatch(/^message body: not valid JSON/);
    expect(invalid(() => parseDeadLetter('{"hello":1}')).message).toMatch(/expected a Lambda on-failure destination record .* or an EventBridge event/);
  });
});

describe('functionName', () => {
  it('names the function of a Lambda ARN, with or without a qualifier', () => {
    expect(functionName('arn:aws:lambda:eu-west-1:1:function:nearmesh-on-event:$LATEST')).toBe('nearmesh-on-event');
    expect(functionName('arn:aws:lambda:eu-west-1:1:function:f')).toBe('f');
    expect(functionName('not-an-arn')).toBe('not-an-arn');
  });
});
