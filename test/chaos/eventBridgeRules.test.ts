import { describe, expect, it } from 'vitest';
import { jsonPath, renderInputTemplate, renderTargetInput, type BusEvent, type BusRule } from '../fakes/eventBridgeRules.ts';

/*
 * The chaos suite's EventBridge stand-in renders target inputs; these cases pin it to what
 * the EventBridge documentation shows for Input, InputPath and InputTransformer.
 */

const event: BusEvent = {
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '123456789012',
  time: '2015-11-11T21:29:54Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
  detail: { 'instance-id': 'i-0123456789', state: 'RUNNING', note: 'say "hi"\nnow' },
};
const rule: BusRule = { logicalId: 'R', name: 'r1', bus: 'default', arn: 'arn:aws:events:us-east-1:123456789012:rule/r1', enabled: true, pattern: {}, targets: [] };

describe('EventBridge target input rendering (chaos stand-in)', () => {
  it('sends the whole event when the target has no input settings, a constant for Input, a part for InputPath', () => {
    expect(renderTargetInput(rule, { id: 't', arn: 'x' }, event, 'now')).toEqual(event);
    expect(renderTargetInput(rule, { id: 't', arn: 'x', input: '{"fixed":true}' }, event, 'now')).toEqual({ fixed: true });
    expect(renderTargetInput(rule, { id: 't', arn: 'x', inputPath: '$.detail' }, event, 'now')).toEqual(event.detail);
  });

  it('quotes a string variable outside quotes and inserts it escaped inside them, as the documentation example shows', () => {
    const text = renderInputTemplate('{"instance": <instance>, "state": [9, <state>, true], "msg": "instance <instance> is in <state>: <note>"}', {
      instance: 'i-0123456789',
      state: 'RUNNING',
      note: 'say "hi"\nnow',
    });
    expect(JSON.parse(text)).toEqual({ instance: 'i-0123456789', state: [9, 'RUNNING', true], msg: 'instance i-0123456789 is in RUNNING: say "hi"\nnow' });
  });

  it('renders <aws.events.event.json> as the full event and <aws.events.event> without its detail, with the rule name and arn', () => {
    const input = renderTargetInput(
      rule,
      { id: 't', arn: 'x', inputTransformer: { InputPathsMap: { s: '$.detail.state' }, InputTemplate: '{"route":"r","rule":"<aws.events.rule-name>","arn":"<aws.events.rule-arn>","s":<s>,"event":<aws.events.event.json>,"meta":<aws.events.event>,"at":"<aws.events.event.ingestion-time>"}' } },
      event,
      '2015-11-11T21:29:55Z',
    ) as Record<string, unknown>;
    const { detail: _detail, ...meta } = event;
    expect(input).toEqual({ route: 'r', rule: 'r1', arn: rule.arn, s: 'RUNNING', event, meta, at: '2015-11-11T21:29:55Z' });
  });

  it('reads JSONPath with dots, indexes and bracketed names, and renders a missing path as null', () => {
    expect(jsonPath(event, '$.resources[0]')).toBe(event.resources[0]);
    expect(jsonPath(event, "$.detail['instance-id']")).toBe('i-0123456789');
    expect(renderInputTemplate('{"x":<missing>}', { missing: undefined })).toBe('{"x":null}');
  });
});
