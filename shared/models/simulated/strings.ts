import { samplePattern } from './pattern.ts';
import type { Rng } from './rng.ts';

/*
 * Plausible strings for the simulated provider — formats, patterns, filler words and a few
 * words quoted from the prompt, so a demo's answers visibly come from the event they
 * answer. generate.ts decides which applies (pattern, format, prompt quote, examples, filler).
 */

const WORDS = [
  'order', 'account', 'payment', 'delivery', 'customer', 'invoice', 'address', 'refund', 'review',
  'shipment', 'request', 'update', 'status', 'pending', 'verified', 'standard', 'priority', 'region',
  'billing', 'service', 'report', 'contract', 'balance', 'network', 'signal', 'record',
];
const COMPANIES = ['Acme GmbH', 'Northwind Traders', 'Contoso Ltd', 'Globex SA', 'Initech Inc', 'Umbrella BV', 'Fabrikam AG'];
const COMPANY_NAME = /(vendor|supplier|company|merchant|organi[sz]ation|customer)(name)?$/i;
const IDENTIFIER_NAME = /(^|[a-z])(id|number|code|ref|reference)$/i;
const FIRST_NAMES = ['ana', 'ben', 'chloe', 'dev', 'eva', 'farid', 'greta', 'hugo'];
const LAST_NAMES = ['meyer', 'silva', 'okafor', 'nguyen', 'rossi', 'kowalski', 'haddad'];
/** Midnight UTC on 2026-01-01: dates are drawn within a year after it, not from the clock, so they replay. */
const BASE_DATE_MS = Date.UTC(2026, 0, 1);

/** Length in code points, which is how JSON Schema (and ajv) counts `minLength`/`maxLength`. */
function codePointLength(s: string): number {
  return Array.from(s).length;
}

/** A string matching `pattern` (see pattern.ts for the subset) within the length limits, or undefined when it cannot make one. */
export function patternString(pattern: string, rng: Rng, min = 0, max?: number): string | undefined {
  return samplePattern(pattern, rng, (s) => codePointLength(s) >= min && (max === undefined || codePointLength(s) <= max));
}

/** A string in `format` (date-time, date, time, email, uri, hostname, ipv4, ipv6, uuid), or undefined for other formats. */
export function formattedString(format: string, rng: Rng): string | undefined {
  return formatted_(format, rng);
}

/**
 * Text that suits the property's name where that is cheap to guess (`vendor` → a company,
 * `invoiceNumber` → `INV-48213`), else a few business words; padded or cut to the limits.
 */
export function fillerString(rng: Rng, min: number, max?: number, name = ''): string {
  if (COMPANY_NAME.test(name)) return fitLength(rng.pick(COMPANIES), min, max, rng);
  if (IDENTIFIER_NAME.test(name)) return fitLength(`${name.slice(0, 3).toUpperCase()}-${rng.int(1000, 99999)}`, min, max, rng);
  return fitLength(words(rng), min, max, rng);
}

/** Some consecutive words of the prompt, fitted to the length limits; undefined when the prompt has no words. */
export function quotePrompt(prompt: string, rng: Rng, min: number, max?: number): string | undefined {
  const quoted = quoteWords(prompt, rng);
  return quoted === undefined ? undefined : fitLength(quoted, min, max, rng);
}

function formatted_(format: string, rng: Rng): string | undefined {
  const at = new Date(BASE_DATE_MS + rng.int(0, 365 * 24 * 3600 - 1) * 1000);
  switch (format) {
    case 'date-time':
      return at.toISOString().replace('.000Z', 'Z');
    case 'date':
      return at.toISOString().slice(0, 10);
    case 'time':
      return `${at.toISOString().slice(11, 19)}Z`;
    case 'email':
      return `${rng.pick(FIRST_NAMES)}.${rng.pick(LAST_NAMES)}@example.com`;
    case 'uri':
    case 'url':
    case 'iri':
    case 'uri-reference':
    case 'iri-reference':
      return `https://example.com/${rng.pick(WORDS)}/${rng.int(1, 9999)}`;
    case 'hostname':
      return `${rng.pick(WORDS)}.example.com`;
    case 'ipv4':
      return `192.0.2.${rng.int(1, 254)}`;
    case 'ipv6':
      return `2001:db8::${rng.int(1, 0xffff).toString(16)}`;
    case 'uuid':
      return uuid(rng);
    default:
      return undefined;
  }
}

/** A version-4-shaped UUID from the stream (not random in the crypto sense; it need not be). */
function uuid(rng: Rng): string {
  const hex = (n: number) => Array.from({ length: n }, () => rng.int(0, 15).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${rng.pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
}

function words(rng: Rng): string {
  const count = rng.int(1, 4);
  const picked = Array.from({ length: count }, () => rng.pick(WORDS));
  return picked.join(' ');
}

/** A few consecutive words of the prompt — deterministic for the stream. */
function quoteWords(prompt: string, rng: Rng): string | undefined {
  const all = prompt.match(/[\p{L}\p{N}][\p{L}\p{N}'’.,:/@-]*/gu) ?? [];
  if (all.length === 0) return undefined;
  const n = Math.min(all.length, rng.int(4, 8));
  const start = rng.int(0, all.length - n);
  return all.slice(start, start + n).join(' ');
}

/** Pad with words up to `min`, cut to `max` code points, without a dangling space. */
export function fitLength(text: string, min: number, max?: number, rng?: Rng): string {
  let s = text;
  while (codePointLength(s) < min) {
    const word = rng === undefined ? WORDS[codePointLength(s) % WORDS.length]! : rng.pick(WORDS);
    s = s ? `${s} ${word}` : word;
  }
  if (max !== undefined && codePointLength(s) > max) {
    s = Array.from(s).slice(0, max).join('');
    if (s.endsWith(' ') && codePointLength(s) > min) s = s.trimEnd();
    while (codePointLength(s) < min) s += 'x';
  }
  return s;
}
