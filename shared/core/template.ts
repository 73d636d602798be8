import { TemplateError } from './errors.ts';

/**
 * Prompt templates: `{{ path }}` slots over the EventBridge view of an event
 * (`detail.customer.tier`, `source`, `detail-type`, `region`, `id`, …).
 *
 * Untrusted event content must never escape its slot. So rendering is a single pass (a
 * value containing `{{detail.secret}}` is inserted as text, never expanded), and every
 * value is inserted as JSON: strings arrive quoted with their newlines and quotes escaped,
 * so a customer note cannot forge a new line of instructions or close a delimiter the
 * prompt author wrote. Numbers and booleans read as themselves.
 */

const SLOT = /\{\{\s*([^{}]*?)\s*\}\}/g;

export interface TemplateContext {
  routeId: string;
  eventId: string;
  /** Which template this is (`task.prompt`, `task.system`), for the error message. */
  field: string;
}

/** Resolve a dotted path (`detail.items.0.sku`) in a JSON value; `undefined` when any step is missing. */
export function lookupPath(root: unknown, path: string): unknown {
  let node: unknown = root;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = Array.isArray(node) && /^\d+$/.test(key) ? node[Number(key)] : (node as Record<string, unknown>)[key];
    if (node === undefined) return undefined;
  }
  return node;
}

/** The slot paths a template uses, in order (for validation at load time). */
export function templateSlots(template: string): string[] {
  return [...template.matchAll(SLOT)].map((m) => m[1] ?? '');
}

/**
 * Render a template over a view of the event.
 *
 * @example
 * renderTemplate('Order {{detail.id}} for {{detail.total}}', { detail: { id: 'A-1', total: 12.5 } }, ctx)
 * // → 'Order "A-1" for 12.5'
 * @throws TemplateError when a slot names a field the event does not have.
 */
export function renderTemplate(template: string, view: unknown, ctx: TemplateContext): string {
  const missing: string[] = [];
  const out = template.replace(SLOT, (_whole, rawPath: string) => {
    const value = lookupPath(view, rawPath);
    if (value === undefined) {
      missing.push(rawPath);
      return '';
    }
    return JSON.stringify(value);
  });
  if (missing.length > 0) {
    throw new TemplateError(
      `${ctx.field} of route ${ctx.routeId} uses ${missing.map((p) => `{{${p}}}`).join(', ')} but event ${ctx.eventId} has no such field; ` +
        `fix the event, or require the field in the route's match with [{"exists": true}]`,
      { context: { routeId: ctx.routeId, eventId: ctx.eventId, missing } },
    );
  }
  return out;
}
