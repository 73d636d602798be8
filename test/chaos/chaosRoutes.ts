/*
 * The routes both chaos suites run: the same four patterns and the same output schema on
 * either edge, so their figures describe the same workload.
 */

/** What every chaos route answers: a label, and the input id the model saw (its echo). */
export const OUTPUT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['label', 'inputId'],
  properties: { label: { type: 'string', enum: ['ok', 'review'] }, inputId: { type: 'string' } },
};

/** The routes' patterns: a VIP big order matches three routes, a VIP ticket two. */
export const ROUTES: Record<string, Record<string, unknown>> = {
  'order-score': { source: ['com.chaos.orders'], 'detail-type': ['OrderPlaced'], detail: { total: [{ numeric: ['>', 0] }] } },
  'big-order-review': { source: ['com.chaos.orders'], detail: { total: [{ numeric: ['>=', 500] }] } },
  'ticket-triage': { source: ['com.chaos.support'], 'detail-type': ['TicketOpened'] },
  'vip-care': { detail: { customer: { tier: ['vip'] } } },
};
