import { InvalidEventError, type Envelope, type Origin } from '../../core/index.ts';
import { asObject, describe } from '../parse.ts';
import { decodeEventBridgeEvent } from './codec.ts';

/**
 * The input template of every rule target the mesh generates: the route the rule was made
 * from beside the whole original event. EventBridge renders `<aws.events.event.json>` as the
 * event's JSON (detail included), unescaped, which is why it stands where a JSON value goes.
 */
export function ruleInputTemplate(routeId: string): string {
  return `{"meshRoute":${JSON.stringify(routeId)},"event":<aws.events.event.json>}`;
}

/** What one delivery to the Lambda asks for: an event, and the one route its rule stands for (absent: every matching route). */
export interface RuleDelivery {
  envelope: Envelope;
  route?: string;
}

/**
 * Decode a Lambda input: a rule target's rendered input (`{ meshRoute, event }`, see
 * `ruleInputTemplate`) runs that route only — EventBridge delivers to every matching rule
 * separately, so each delivery must run its own route; a raw EventBridge event (a direct
 * invoke, a test, an older rule without the template) runs every matching route.
 *
 * @example
 * decodeRuleDelivery({ meshRoute: 'order-risk', event: { id: '6f1c…', source: 'com.acme.orders', 'detail-type': 'OrderPlaced', time: '…', detail: {} } }).route // 'order-risk'
 */
export function decodeRuleDelivery(input: unknown, origin: Partial<Origin> = {}): RuleDelivery {
  const obj = asObject(input, 'input');
  if (!('meshRoute' in obj)) return { envelope: decodeEventBridgeEvent(obj, origin) };
  const route = obj.meshRoute;
  if (typeof route !== 'string' || route === '') {
    throw new InvalidEventError(`input.meshRoute: expected the id of the route the rule was generated from, got ${describe(route)}`);
  }
  if (obj.event === undefined) throw new InvalidEventError('input.event: missing; the rule target\'s input template must carry <aws.events.event.json> as "event"');
  return { envelope: decodeEventBridgeEvent(asObject(obj.event, 'input.event'), origin), route };
}
