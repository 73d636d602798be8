import { userInfo } from 'node:os';
import type { ApprovalOutcome, ApprovalRecord, ApprovalStatus } from '../../../shared/core/index.ts';
import { openAccess } from '../access.ts';
import { printable, table } from '../format.ts';
import { COMMON_HELP, commonOptions, parseCommand, UsageError } from '../options.ts';
import { intOption } from './events.ts';

export const APPROVE_HELP = `mesh approve — publish a result held for approval

Usage: mesh approve <result-id> [--actor <name>] [--json]

A route with "approval: required" holds its result and publishes <detailType>.PendingApproval
with the result id instead. Approving publishes the held result, exactly as it was built, to
the route's destinations, once: approving again says when and by whom it was approved and
publishes nothing. A rejected result cannot be approved.

  --actor <name>   who approves (default: the OS user)
${COMMON_HELP}`;

export const REJECT_HELP = `mesh reject — refuse a result held for approval, with the reason

Usage: mesh reject <result-id> --reason <text> [--actor <name>] [--json]

Records who rejected it, when and why. Nothing is published, and it cannot be approved later.

  --reason <text>  why (required)
  --actor <name>   who rejects (default: the OS user)
${COMMON_HELP}`;

export const APPROVALS_HELP = `mesh approvals — list results held for approval, newest first

Usage: mesh approvals [--status pending|approved|rejected|all] [--route <id>] [--limit <n>] [--json]

Lists pending ones by default. --json includes each held result event in full.
${COMMON_HELP}`;

/** `mesh approve <result-id>`: through mesh dev when it runs, else on the embedded store with the local mesh. */
export async function approveCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { actor: { type: 'string' } });
  if (values.help) return (console.log(APPROVE_HELP), 0);
  const resultId = onlyId(positionals, 'approve');
  return decide(values, resultId, { decision: 'approve', actor: values.actor ?? currentUser() });
}

/** `mesh reject <result-id> --reason <text>`. */
export async function rejectCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { actor: { type: 'string' }, reason: { type: 'string' } });
  if (values.help) return (console.log(REJECT_HELP), 0);
  const resultId = onlyId(positionals, 'reject');
  if (values.reason === undefined || values.reason.trim() === '') throw new UsageError('--reason <text> is required: say why the result is rejected');
  return decide(values, resultId, { decision: 'reject', actor: values.actor ?? currentUser(), reason: values.reason });
}

/** `mesh approvals`: the held results. */
export async function approvalsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, { status: { type: 'string', default: 'pending' }, route: { type: 'string' }, limit: { type: 'string' } });
  if (values.help) return (console.log(APPROVALS_HELP), 0);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const status = values.status;
  if (status !== 'pending' && status !== 'approved' && status !== 'rejected' && status !== 'all') {
    throw new UsageError(`--status: expected pending, approved, rejected or all, got ${JSON.stringify(status)}`);
  }
  const opts = commonOptions(values);
  const access = await openAccess(opts);
  try {
    const records = await access.listApprovals({
      ...(status === 'all' ? {} : { status: status as ApprovalStatus }),
      ...(values.route ? { routeId: values.route } : {}),
      ...(values.limit ? { limit: intOption('--limit', values.limit) } : {}),
    });
    if (opts.json) console.log(JSON.stringify(records, null, 2));
    else console.log(records.length === 0 ? `No ${status === 'all' ? '' : `${status} `}approvals (read from ${access.via}).` : approvalsTable(records));
    return 0;
  } finally {
    await access.close();
  }
}

async function decide(values: { config?: string; routes?: string; json?: boolean }, resultId: string, request: { decision: 'approve' | 'reject'; actor: string; reason?: string }): Promise<number> {
  const opts = commonOptions(values);
  const access = await openAccess(opts);
  try {
    const outcome = await access.decideApproval(resultId, request);
    console.log(opts.json ? JSON.stringify(outcomeJson(outcome), null, 2) : printable(outcomeText(outcome)));
    return 0;
  } finally {
    await access.close();
  }
}

function onlyId(positionals: string[], verb: string): string {
  const [id, extra] = positionals;
  if (!id) throw new UsageError(`mesh ${verb} needs the result id (the PendingApproval event's resultId, or the first column of mesh approvals)`);
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
  return id;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** The outcome without the held event (the route's output): who, when, what happened. */
function outcomeJson(o: ApprovalOutcome): Record<string, unknown> {
  const { result: _result, destinations: _d, ...record } = o.record;
  return { outcome: o.kind, ...record, ...(o.kind === 'approved' ? { publishedTo: o.destinations } : {}), ...(o.kind === 'already-decided' ? { message: o.message } : {}) };
}

function outcomeText(o: ApprovalOutcome): string {
  const r = o.record;
  switch (o.kind) {
    case 'approved':
      return `Approved result ${r.resultId} (route ${r.routeId}, input ${r.inputId}) as ${r.actor ?? '?'}; published ${r.result.event.type} to ${o.destinations.join(', ')}.`;
    case 'rejected':
      return `Rejected result ${r.resultId} (route ${r.routeId}, input ${r.inputId}) as ${r.actor ?? '?'}: ${r.reason ?? ''}. Nothing was published.`;
    case 'already-decided':
      return `${o.message[0]!.toUpperCase()}${o.message.slice(1)}.`;
  }
}

function approvalsTable(records: ApprovalRecord[]): string {
  return table(
    ['result id', 'route', 'input', 'held at', 'status', 'decided', 'reason'],
    records.map((r) => [r.resultId, r.routeId, r.inputId, r.heldAt, r.status, r.decidedAt ? `${r.decidedAt} by ${r.actor ?? '?'}` : '-', r.reason ?? '']),
  );
}
