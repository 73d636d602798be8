import { InvalidEventError, toEventBridgeEvent, type Envelope } from '../core/index.ts';
import { decodeEventBridgeEvent, parseJson } from '../buses/index.ts';

/*
 * Edit before replay. A patch is a JSON merge patch (RFC 7386) on the event's detail: the
 * EventBridge `detail`, which is a CloudEvent's `data` (what route patterns and prompts read
 * as `detail.…`). The id, source, type and time identify the event and stay as they were, so
 * the replay keeps its idempotency key: a patched event that already has a result is already
 * done. The patched event is checked by the EventBridge codec like any input.
 */

/** Longest patch text kept in a replay's history; a longer one is cut with a note. */
export const PATCH_HISTORY_CHARS = 2_000;

/**
 * RFC 7386: objects merge key by key, `null` removes a key, anything else replaces.
 *
 * @example
 * applyMergePatch({ customer: { tier: 'gold', id: 'C-1' }, note: 'x' }, { customer: { tier: 'silver' }, note: null })
 * // → { customer: { tier: 'silver', id: 'C-1' } }
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}

/**
 * The merge patch that turns `before` into `after` (what `--edit` keeps in the history).
 * Arrays are replaced whole, as RFC 7386 does. Undefined when nothing changed.
 */
export function mergePatchBetween(before: unknown, after: unknown): unknown {
  if (!isObject(before) || !isObject(after)) return JSON.stringify(before) === JSON.stringify(after) ? undefined : after;
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(before)) if (!Object.hasOwn(after, key)) patch[key] = null;
  for (const [key, value] of Object.entries(after)) {
    const sub = Object.hasOwn(before, key) ? mergePatchBetween(before[key], value) : value;
    if (sub !== undefined) patch[key] = sub;
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}

/**
 * Apply a merge patch (its JSON text) to the event's detail and check the result as input.
 * Throws InvalidEventError saying what is wrong (the patch text, or the patched event).
 *
 * @example
 * patchEnvelope(envelope, '{"customer":{"tier":"gold"}}').event.data // the detail, patched
 */
export function patchEnvelope(envelope: Envelope, patchText: string): Envelope {
  const patch = parseJson(patchText, 'the patch');
  if (!isObject(patch)) throw new InvalidEventError('the patch: expected a JSON object (a merge patch on the event\'s detail, e.g. {"customer":{"tier":"gold"}})');
  const view = toEventBridgeEvent(envelope);
  const detail = applyMergePatch(view.detail, patch);
  try {
    decodeEventBridgeEvent({ ...view, detail }, envelope.origin);
  } catch (err) {
    if (err instanceof InvalidEventError) throw new InvalidEventError(`the patched event is not valid input: ${err.message}`, { cause: err });
    throw err;
  }
  return { ...envelope, event: { ...envelope.event, data: detail } };
}

/** The patch as the history keeps it: compact JSON, cut past PATCH_HISTORY_CHARS. */
export function patchSummary(patchText: string): string {
  let text = patchText;
  try {
    text = JSON.stringify(JSON.parse(patchText));
  } catch {
    // Kept as given; it was refused anyway.
  }
  return text.length <= PATCH_HISTORY_CHARS ? text : `${text.slice(0, PATCH_HISTORY_CHARS)}… (${text.length} characters in all)`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The Replayer's `patch` option for a merge patch given as text (`--patch`, `--edit`): the
 * failure keeps its original event; the history keeps the patch and where it came from.
 *
 * @example
 * replayer.replay(id, { actor: 'ana', patch: replayPatch('{"total":84.5}', 'fix.json') })
 */
export function replayPatch(patchText: string, from?: string): { apply(envelope: Envelope): Envelope; summary: string; from?: string } {
  return { apply: (envelope) => patchEnvelope(envelope, patchText), summary: patchSummary(patchText), ...(from ? { from } : {}) };
}
