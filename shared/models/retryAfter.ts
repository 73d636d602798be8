/** Anything with a case-insensitive header getter: fetch `Headers`, or a plain record via `headerGetter`. */
export type HeaderGetter = (name: string) => string | null | undefined;

/** A getter over a plain header record (the AWS SDK's `$response.headers`). */
export function headerGetter(headers: Record<string, string | undefined> | undefined): HeaderGetter {
  const lower = Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => lower[name.toLowerCase()];
}

/**
 * The server's wait hint in milliseconds: `retry-after-ms` first (OpenAI and Azure send it),
 * then `Retry-After` as seconds or as an HTTP date. Undefined when absent or unreadable, so
 * the mesh falls back to its own backoff.
 *
 * @example
 * retryAfterMs(headerGetter({ 'retry-after': '2' })) // → 2000
 */
export function retryAfterMs(get: HeaderGetter, now: () => number = Date.now): number | undefined {
  const ms = Number.parseFloat(get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  const value = get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number.parseFloat(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now());
}
