/*
 * The routes both chaos suites run, and the events they draw: the same four patterns, the same
 * output schema and the same mix of events on either edge, so their figures describe the same
 * workload.
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

/** One drawn event, before an edge wraps it in its own envelope. */
export interface ChaosDraw {
  id: string;
  source: string;
  type: string;
  /** ISO time without milliseconds, one second after the previous event's. */
  time: string;
  data: Record<string, unknown>;
  /** Drawn for 1% of events: its data lives where no endpoint may serve it (a permanent failure). */
  far: boolean;
}

/**
 * Deterministic for a given `random`: half orders, 30% tickets, 20% invoices nobody routes; a
 * quarter of customers VIP; 1% `far`. Every draw is made in the same order, so a seed gives
 * both suites the same sequence.
 */
export function drawChaosEvents(n: number, random: () => number, startIso: string): ChaosDraw[] {
  const hex = (len: number) => Array.from({ length: len }, () => Math.floor(random() * 16).toString(16)).join('');
  const base = Date.parse(startIso);
  const draws: ChaosDraw[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
    const tier = random() < 0.25 ? 'vip' : random() < 0.5 ? 'standard' : 'new';
    const kind = random();
    const far = random() < 0.01;
    const time = new Date(base + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const [source, type, data]: [string, string, Record<string, unknown>] =
      kind < 0.5
        ? ['com.chaos.orders', 'OrderPlaced', { orderId: `ORD-${i}`, total: Math.round(random() * 1000 * 100) / 100 + 1, customer: { id: `C-${i % 97}`, tier } }]
        : kind < 0.8
          ? ['com.chaos.support', 'TicketOpened', { ticketId: `T-${i}`, body: `help with "order" #${i}\nplease`, customer: { tier } }]
          : ['com.chaos.billing', 'InvoiceReceived', { invoiceId: `INV-${i}`, amount: 10 }];
    draws.push({ id, source, type, time, data, far });
  }
  return draws;
}
