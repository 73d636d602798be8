import type { RetentionSettings } from '../core/catalogue.ts';

/**
 * Retention, as written in mesh.yaml and on the command line: a whole number and a unit
 * (`7d`, `36h`, `90m`, `2w`). Kept apart from the schema because `mesh prune --older-than`
 * reads the same spelling.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const DURATION = /^(\d+)\s*(ms|s|m|h|d|w)$/;

export const DURATION_HINT = 'expected a duration such as 7d, 36h or 90m (units ms, s, m, h, d, w)';

/**
 * Events 7 days; resolved failures 30 days after they were resolved; audit records a year (the
 * trail holds no content and outlives the events it describes).
 */
export const DEFAULT_RETENTION: RetentionSettings = { eventsMs: 7 * UNIT_MS.d, resolvedFailuresMs: 30 * UNIT_MS.d, auditMs: 365 * UNIT_MS.d };

/**
 * Milliseconds in `text`, or undefined when it is not a duration.
 *
 * @example
 * parseDuration('7d') // 604800000
 * parseDuration('a week') // undefined
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** The largest unit up to days that divides `ms` exactly: 604800000 → `7d`, 5400000 → `90m`. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms > 0 && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
