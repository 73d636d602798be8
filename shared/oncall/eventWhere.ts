import { isDeepStrictEqual } from 'node:util';
import { toEventBridgeEvent, type Envelope } from '../core/index.ts';
import { InvalidWhereError } from './errors.ts';

/** One `--where path=value`: the event's value at `path` must equal `value`. */
export interface WhereClause {
  /** As given, for messages: `detail.customer.tier=gold`. */
  text: string;
  path: string[];
  value: unknown;
}

/**
 * Parse `detail.customer.tier=gold`. The path is dot-separated, read on the event as routes
 * see it (the EventBridge shape: `detail`, `source`, `detail-type`, `id`, `time`, `region`…; a
 * CloudEvent's data is its `detail`). The value is JSON when it parses (`42`, `true`, `null`,
 * `"42"`, `{"a":1}`), otherwise the text itself (`gold`).
 *
 * @example
 * parseWhere('detail.total=120') // → { text: 'detail.total=120', path: ['detail', 'total'], value: 120 }
 */
export function parseWhere(text: string): WhereClause {
  const eq = text.indexOf('=');
  const rawPath = eq < 0 ? '' : text.slice(0, eq).trim();
  const path = rawPath.split('.');
  if (eq < 0 || rawPath === '' || path.some((p) => p === '')) {
    throw new InvalidWhereError(`--where ${JSON.stringify(text)}: expected <path>=<value>, the path dot-separated on the event, e.g. detail.customer.tier=gold`, { context: { where: text } });
  }
  const raw = text.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // Not JSON: the text is the value (gold, A-1, 2026-11-22).
  }
  return { text, path, value };
}

/** Whether the event (its EventBridge shape) holds every clause's value; no clauses match everything. */
export function eventMatchesWhere(event: unknown, clauses: readonly WhereClause[]): boolean {
  return clauses.every((c) => isDeepStrictEqual(valueAt(event, c.path), c.value));
}

/** As eventMatchesWhere, for an envelope. */
export function envelopeMatchesWhere(envelope: Envelope, clauses: readonly WhereClause[]): boolean {
  return clauses.length === 0 || eventMatchesWhere(toEventBridgeEvent(envelope), clauses);
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let at: unknown = root;
  for (const key of path) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}
