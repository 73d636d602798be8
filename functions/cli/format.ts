import type { EventLogEntry, FailureRecord, MeshConfig, Route } from '../../shared/core/index.ts';
import type { DeadLetterView } from '../../shared/oncall/index.ts';

export type { DeadLetterView };

/*
 * Ids, types, sources and error texts come from outside. On a terminal a newline in one
 * forges a line, an escape sequence rewrites the screen, a bidi override reorders what is
 * read: every human-readable output passes them through `printable`.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- the same, newlines aside
const UNPRINTABLE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * `text` with C0 and C1 controls, DEL and bidi controls written as `\uXXXX`, for a terminal.
 *
 * @example printable('Probe\n✓ forged') // → 'Probe\\u000a✓ forged'
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escape);
}

/** `printable` for a block whose own newlines are layout (indented JSON): only those are kept. */
function printableBlock(text: string): string {
  return text.replace(UNPRINTABLE_BUT_NEWLINE, escape);
}

/** Fixed-width table: the on-call view that fits a terminal. Long cells are cut with `…`. */
export function table(headers: string[], rows: string[][], maxWidth = 60): string {
  const cut = (raw: string) => {
    const s = printable(raw);
    return s.length > maxWidth ? s.slice(0, maxWidth - 1) + '…' : s;
  };
  const cells = rows.map((r) => r.map(cut));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export function describeConfig(config: MeshConfig, routes: Route[], configFile: string, routesDir: string): string {
  const lines = [
    `Loaded ${configFile}: ${config.models.length} model endpoints, ${Object.keys(config.residency).length} residency classes, ${Object.keys(config.destinations).length} destinations`,
    '  Model endpoints:',
    ...config.models.map((m) => `    ${m.id.padEnd(28)} ${m.provider.padEnd(10)} ${m.cloud} ${m.region ?? '(global)'} · scope ${m.scope}`),
    '  Residency:',
    ...Object.entries(config.residency).map(([k, r]) => `    ${k.padEnd(14)} cloud ${r.cloud}, geography ${r.geography}, region ${r.region}`),
    '  Destinations:',
    ...Object.values(config.destinations).map((d) => `    ${d.name.padEnd(20)} ${d.kind}${d.bus ? ` bus ${d.bus}` : ''}${d.entity ? ` ${d.namespace}/${d.entity}` : ''}`),
    `Loaded ${routes.length} routes from ${routesDir}:`,
    ...routes.map((r) => `    ${r.id.padEnd(20)} ${r.data.classification.padEnd(13)} → ${r.emit.detailType} (${r.emit.to.length ? r.emit.to.join(', ') : 'back to origin'})`),
  ];
  return lines.join('\n');
}

export function eventsTable(entries: EventLogEntry[]): string {
  return table(
    ['#', 'at', 'kind', 'type', 'id', 'route', 'destination'],
    entries.map((e) => [String(e.seq ?? ''), e.at, e.kind, e.type, e.eventId, e.routeId ?? '', e.destination ?? '']),
  );
}

export function failuresTable(records: FailureRecord[]): string {
  return table(
    ['at', 'failure id', 'event id', 'route', 'error', 'tries', 'endpoint', 'status', 'reason'],
    records.map((f) => [
      f.at,
      f.id,
      f.eventId,
      f.routeId ?? '',
      f.errorCode,
      String(f.attempts.length),
      f.attempts.at(-1)?.endpoint ?? '-',
      f.status,
      f.message,
    ]),
    48,
  );
}

export function failureDetail(f: FailureRecord): string {
  const lines = [
    `Failure ${f.id} (${f.status}, failed ${f.failures}×)`,
    `  at:        ${f.at}`,
    `  event:     ${f.eventId}  ${f.envelope.event.type} from ${f.envelope.event.source}`,
    `  route:     ${f.routeId ?? '-'}`,
    `  error:     ${f.errorCode}${f.retryable ? ' (retryable)' : ''}`,
    `  reason:    ${f.message}`,
    `  attempts:  ${f.attempts.length === 0 ? 'none (no model call was made)' : ''}`,
    ...f.attempts.map(
      (a) => `    ${a.startedAt} ${a.endpoint} ${a.region ?? ''} #${a.attempt} ${a.latencyMs} ms ${a.error ? `${a.error.code}: ${a.error.message}` : 'ok'}`,
    ),
  ];
  if (f.placement) {
    lines.push(`  placement: data at ${f.placement.location.cloud}${f.placement.location.region ? ' ' + f.placement.location.region : ''} (from ${f.placement.location.from}); policy ${f.placement.policy}`);
    for (const r of f.placement.ranked) lines.push(`    allowed  ${r.endpoint.id}: ${r.reason}`);
    for (const r of f.placement.rejected) lines.push(`    rejected ${r.endpointId}: ${r.reason}`);
  }
  lines.push(`  replays:   ${f.replays?.length ? '' : 'none yet (mesh replay ' + f.id + ')'}`);
  for (const r of f.replays ?? []) {
    const used = r.options ? ` [${Object.entries(r.options).map(([k, v]) => `${k} ${v}`).join(', ')}]` : '';
    lines.push(`    ${r.at} by ${r.actor}: ${r.outcome} — ${r.detail}${used}`);
  }
  return [...lines.map(printable), '  original event:', printableBlock(indent(JSON.stringify(f.envelope.event, null, 2), 4))].join('\n');
}

function indent(text: string, n: number): string {
  return text.replace(/^/gm, ' '.repeat(n));
}

/** One event's outcome, as `mesh dev` and `mesh emit` print it. */
export function outcomeLines(o: Record<string, unknown>): string[] {
  const routes = (o.routes as Array<Record<string, unknown>>) ?? [];
  const head = `${String(o.type)} ${String(o.eventId)} from ${String(o.source)}`;
  if (routes.length === 0) return [printable(head), '    · no route matched'];
  const lines = [head];
  for (const r of routes) {
    const ms = `${String(r.latencyMs)} ms`;
    if (r.status === 'emitted') {
      const placement = r.placement as { ranked?: Array<{ endpoint: { id: string }; reason: string }> } | undefined;
      const why = placement?.ranked?.find((x) => x.endpoint.id === r.endpoint)?.reason ?? '';
      const result = r.result as { type?: string } | undefined;
      const tries = (r.attempts as unknown[]).length;
      lines.push(`    ✓ ${String(r.routeId)} → ${String(r.endpoint)} (${why})${tries > 1 ? ` after ${tries} attempts` : ''}`);
      lines.push(`      emitted ${result?.type ?? ''} ${String(r.resultId)} to ${(r.destinations as string[]).join(', ')} · ${ms}`);
    } else if (r.status === 'duplicate') {
      lines.push(`    = ${String(r.routeId)}: already processed; result ${String(r.resultId)} was emitted before (not emitted again)`);
    } else if (r.status === 'in-progress') {
      lines.push(`    … ${String(r.routeId)}: another delivery of this event is being processed`);
    } else if (r.status === 'pending-approval') {
      lines.push(`    ⏸ ${String(r.routeId)} → ${String(r.endpoint)}: result ${String(r.resultId)} held for approval · ${ms}`);
      lines.push(`      PendingApproval sent to ${(r.destinations as string[]).join(', ')}; release it with: mesh approve ${String(r.resultId)}`);
    } else if (r.status === 'approved') {
      lines.push(`    ✓ ${String(r.routeId)}: result ${String(r.resultId)} approved, published to ${(r.destinations as string[]).join(', ')}`);
    } else if (r.status === 'rejected') {
      lines.push(`    ⊘ ${String(r.routeId)}: result ${String(r.resultId)} rejected; nothing published`);
    } else {
      const err = r.error as { code: string; message: string };
      lines.push(`    ✗ ${String(r.routeId)} failed: ${err.code}: ${err.message}`);
      lines.push(`      kept in the failure ledger: mesh failed show ${String(r.failureId)}`);
    }
  }
  return lines.map(printable);
}

/** One row of the failures table, whatever the source. */
export type FailureRow = [source: string, at: string, id: string, eventId: string, route: string, error: string, tries: string, endpoint: string, status: string, reason: string];

export function ledgerRow(f: FailureRecord): FailureRow {
  return ['local', f.at, f.id, f.eventId, f.routeId ?? '', f.errorCode, String(f.attempts.length), f.attempts.at(-1)?.endpoint ?? '-', f.status, f.message];
}

export function deadLetterRow(d: DeadLetterView): FailureRow {
  // An SQS queue's name fits the column (its URL is in the note under the table); a Service
  // Bus source is short already.
  const queue = d.source.split('/').filter(Boolean).at(-1) ?? d.source;
  return [d.source.startsWith('sqs:') ? `sqs:${queue}` : d.source, d.at ?? d.sentAt ?? '', d.messageId, d.eventId ?? '?', d.routeIds.join(',') || '(none)', d.errorCode, d.attempts === undefined ? '?' : String(d.attempts), d.endpoint ?? '-', 'in queue', d.message];
}

/** The failures table with a source column: the local ledger and dead-letter queues together. */
export function failureRowsTable(rows: FailureRow[]): string {
  return table(['source', 'at', 'failure id', 'event id', 'route', 'error', 'tries', 'endpoint', 'status', 'reason'], rows, 48);
}

export function deadLetterDetail(d: DeadLetterView, ledger?: FailureRecord): string {
  const lines = [
    `Dead letter ${d.messageId} in ${d.source.startsWith('sqs:') ? d.source.slice('sqs:'.length) : `${d.source.slice('servicebus:'.length)}/$DeadLetterQueue`}`,
    `  at:        ${d.at ?? '-'}${d.sentAt ? ` (sent to the queue ${d.sentAt}, received ${d.receiveCount ?? '?'}×)` : ''}`,
    `  event:     ${d.eventId ?? '? (the message is not an event we can read)'}`,
    `  route:     ${d.routeIds.join(', ') || 'none of the loaded routes matches'}`,
    `  error:     ${d.errorCode}${d.condition && d.condition !== d.errorCode ? ` (${d.condition})` : ''}`,
    `  reason:    ${d.message}`,
    `  function:  ${d.functionArn ?? '-'}${d.requestId ? ` request ${d.requestId}` : ''}${d.attempts !== undefined ? `, invoked ${d.attempts}×` : ''}`,
  ];
  if (d.stackTrace?.length) lines.push('  stack:', ...d.stackTrace.slice(0, 10).map((l) => `    ${l}`));
  if (ledger) {
    lines.push(`  ledger:    ${ledger.id} (${ledger.status}, failed ${ledger.failures}×)`);
    for (const r of ledger.replays ?? []) lines.push(`    ${r.at} by ${r.actor}: ${r.outcome} — ${r.detail}`);
  } else {
    lines.push('  ledger:    not replayed from here yet');
  }
  const text = lines.map(printable);
  if (d.event !== undefined) text.push('  original event:', printableBlock(indent(JSON.stringify(d.event, null, 2), 4)));
  return text.join('\n');
}
