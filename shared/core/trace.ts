import { randomFillSync } from 'node:crypto';
import type { CloudEvent } from './cloudevent.ts';

/*
 * W3C Trace Context (traceparent, tracestate) and the AWS X-Ray trace header, read from what
 * arrives and written on what leaves. Everything here parses strictly: a value that is not
 * well formed is ignored (the event starts a new trace), never an error, and what goes out is
 * always re-formatted from the parsed parts, never the text that came in.
 */

/** A W3C trace context: the trace an event belongs to and the span that sent it. */
export interface TraceContext {
  /** 32 lower-case hex digits, not all zero. */
  traceId: string;
  /** 16 lower-case hex digits, not all zero: the parent of whatever comes next. */
  spanId: string;
  /** The sampled flag: whoever sent it recorded (and asks us to record) this trace. */
  sampled: boolean;
  /** The vendor entries (`tracestate`), already checked; absent when there were none or they were malformed. */
  tracestate?: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^\s]*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
/** Longer than any header a future version could reasonably send; beyond it, it is not a traceparent. */
const MAX_TRACEPARENT = 512;

/**
 * Parse a `traceparent` (W3C Trace Context level 1): version 00 exactly, a higher version by its
 * first four fields. Anything else — upper-case hex, zero ids, version ff, not a string — is
 * `undefined`.
 *
 * @example parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')
 * // → { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', sampled: true }
 */
export function parseTraceparent(value: unknown, tracestate?: unknown): TraceContext | undefined {
  if (typeof value !== 'string' || value.length > MAX_TRACEPARENT) return undefined;
  const m = TRACEPARENT.exec(trimOws(value));
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  const state = parseTracestate(tracestate);
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1, ...(state === undefined ? {} : { tracestate: state }) };
}

/** `00-<trace id>-<span id>-<flags>`: the only form the mesh writes. */
export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? '01' : '00'}`;
}

const TRACESTATE_KEY = /^(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})$/;
const TRACESTATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const MAX_TRACESTATE_MEMBERS = 32;
const MAX_TRACESTATE = 512;

/**
 * A `tracestate` whose every list member is well formed (at most 32, 512 characters in all),
 * normalised to `k=v,k=v`; `undefined` when absent or malformed (the whole header is dropped,
 * as the specification allows, rather than passing on a part of it).
 */
export function parseTracestate(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > MAX_TRACESTATE * 2) return undefined;
  const members: string[] = [];
  for (const raw of value.split(',')) {
    const member = trimOws(raw);
    if (member === '') continue;
    const eq = member.indexOf('=');
    if (eq <= 0) return undefined;
    const key = member.slice(0, eq);
    const val = member.slice(eq + 1);
    if (!TRACESTATE_KEY.test(key) || !TRACESTATE_VALUE.test(val)) return undefined;
    members.push(`${key}=${val}`);
  }
  const joined = members.join(',');
  if (members.length === 0 || members.length > MAX_TRACESTATE_MEMBERS || joined.length > MAX_TRACESTATE) return undefined;
  return joined;
}

const XRAY_ROOT = /^1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})$/;
const XRAY_PARENT = /^[0-9a-fA-F]{16}$/;

/**
 * Parse an AWS X-Ray trace header (`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`,
 * as in a PutEvents entry's `TraceHeader` or Lambda's `_X_AMZN_TRACE_ID`) into W3C terms: the
 * Root's two parts are the trace id, Parent the span id, `Sampled=1` the sampled flag. A header
 * without a Parent (a root-only header) gets a fresh span id, so the trace id still carries on.
 *
 * @example parseXrayTraceHeader('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1')?.traceId
 * // → '5759e988bd862e3fe1be46a994272793'
 */
export function parseXrayTraceHeader(value: unknown): TraceContext | undefined {
  if (typeof value !== 'string' || value.length > MAX_TRACEPARENT) return undefined;
  const fields = new Map<string, string>();
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const root = XRAY_ROOT.exec(fields.get('Root') ?? '');
  if (!root) return undefined;
  const traceId = `${root[1]}${root[2]}`.toLowerCase();
  const parent = fields.get('Parent');
  if (traceId === ZERO_TRACE) return undefined;
  if (parent !== undefined && (!XRAY_PARENT.test(parent) || parent === ZERO_SPAN)) return undefined;
  return { traceId, spanId: parent?.toLowerCase() ?? newSpanId(), sampled: fields.get('Sampled') === '1' };
}

/** The X-Ray trace header of a W3C context (`Root=1-<8>-<24>;Parent=<16>;Sampled=0|1`): PutEvents' `TraceHeader`. */
export function formatXrayTraceHeader(ctx: TraceContext): string {
  return `Root=1-${ctx.traceId.slice(0, 8)}-${ctx.traceId.slice(8)};Parent=${ctx.spanId};Sampled=${ctx.sampled ? 1 : 0}`;
}

/**
 * The trace an input event belongs to, first found of:
 * 1. the CloudEvents distributed-tracing extension (`traceparent`, `tracestate`) — Service Bus
 *    codecs put a message's `traceparent` / `Diagnostic-Id` properties there;
 * 2. `awstraceheader`, the X-Ray `TraceHeader` of a PutEvents entry;
 * 3. the trace context a mesh result carries in its data (`lineage.traceparent`), because
 *    EventBridge keeps neither extensions nor TraceHeader on the way to a target or an archive.
 * `undefined` when none is there or well formed: the event starts a new trace.
 */
export function inputTraceContext(event: CloudEvent): TraceContext | undefined {
  const ext = event.extensions;
  return parseTraceparent(ext.traceparent, ext.tracestate) ?? parseXrayTraceHeader(ext.awstraceheader) ?? lineageTraceContext(event.data);
}

function lineageTraceContext(data: unknown): TraceContext | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const lineage = (data as { lineage?: unknown }).lineage;
  if (lineage === null || typeof lineage !== 'object') return undefined;
  const l = lineage as { traceparent?: unknown; tracestate?: unknown };
  return parseTraceparent(l.traceparent, l.tracestate);
}

/** A new trace (random ids, not sampled): for an event that came with none, when nothing records spans. */
export function newTraceContext(): TraceContext {
  return { traceId: randomId(16), spanId: randomId(8), sampled: false };
}

/** Spaces and tabs around a header value (HTTP's optional whitespace), nothing else. */
function trimOws(value: string): string {
  return value.replace(/^[ \t]+|[ \t]+$/g, '');
}

function newSpanId(): string {
  return randomId(8);
}

/*
 * Random ids from a pool filled 4 KiB at a time, as crypto.randomUUID does: a randomBytes call
 * per id cost about 40 µs of an event's CPU in mesh dev (each call asks the CSPRNG anew).
 */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

/** `bytes` random bytes as lowercase hex, never all zeros (W3C forbids an all-zero trace or span id). */
function randomId(bytes: number): string {
  for (;;) {
    if (poolOffset + bytes > pool.length) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
    poolOffset += bytes;
    if (!/^0+$/.test(hex)) return hex;
  }
}
