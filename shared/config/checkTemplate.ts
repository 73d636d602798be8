/*
 * Prompt, system and location templates are checked when the route loads, so a typo such as
 * `{{detial.total}}` or `{{ detail.total }` fails `mesh validate` instead of every event.
 * Slots are `{{ path }}` over the EventBridge view of the event (see shared/core/template.ts).
 */

/** The top-level fields of the EventBridge view a slot may start with. */
export const VIEW_FIELDS = ['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail'] as const;
/** Fields that hold structure, so a slot may go deeper (`detail.order.total`, `resources.0`). */
const NESTED = new Set(['detail', 'resources']);
const SEGMENT = /^[^\s.{}]+$/;

/**
 * Problems with the slots of one template, each naming the slot text; empty when it is fine.
 *
 * @example
 * checkTemplate('Order {{detail.id}} in {{regoin}}')
 * // → ['slot "{{regoin}}" must start with one of version | id | … | detail, got "regoin"']
 */
export function checkTemplate(template: string): string[] {
  const problems: string[] = [];
  let i = 0;
  for (;;) {
    const open = template.indexOf('{{', i);
    const strayClose = template.indexOf('}}', i);
    if (strayClose !== -1 && (open === -1 || strayClose < open)) {
      problems.push(`unbalanced braces: "}}" at ${excerpt(template, strayClose)} has no "{{" before it`);
      i = strayClose + 2;
      continue;
    }
    if (open === -1) break;
    const close = template.indexOf('}}', open + 2);
    const nextOpen = template.indexOf('{{', open + 2);
    if (close === -1 || (nextOpen !== -1 && nextOpen < close)) {
      problems.push(`unbalanced braces: "{{" at ${excerpt(template, open)} is not closed by "}}"`);
      i = open + 2;
      continue;
    }
    const slot = template.slice(open, close + 2);
    const problem = checkSlot(template.slice(open + 2, close));
    if (problem) problems.push(`slot "${slot}" ${problem}`);
    i = close + 2;
  }
  return problems;
}

function checkSlot(inner: string): string | undefined {
  const path = inner.trim();
  if (path === '') return 'is empty: expected a path such as detail.orderId';
  if (/[{}]/.test(path)) return 'has stray braces inside it';
  const segments = path.split('.');
  const head = segments[0] ?? '';
  if (!(VIEW_FIELDS as readonly string[]).includes(head)) {
    return `must start with one of ${VIEW_FIELDS.join(' | ')}, got "${head}"`;
  }
  if (segments.length > 1 && !NESTED.has(head)) return `goes inside "${head}", which is a plain value: expected just {{${head}}}`;
  const bad = segments.find((s) => !SEGMENT.test(s));
  if (bad !== undefined) return `has an empty or malformed step ${JSON.stringify(bad)}: expected dotted names like detail.customer.tier`;
  return undefined;
}

function excerpt(text: string, at: number): string {
  return JSON.stringify(text.slice(Math.max(0, at - 12), at + 14).replace(/\s+/g, ' '));
}
