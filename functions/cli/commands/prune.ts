import type { RetentionSettings } from '../../../shared/core/index.ts';
import { DEFAULT_RETENTION, DURATION_HINT, formatDuration, loadMeshConfig, parseDuration } from '../../../shared/config/index.ts';
import { openLocalStore, type PruneReport } from '../../../shared/store/index.ts';
import { findRunningDev } from '../devClient.ts';
import { COMMON_HELP, commonOptions, parseCommand, UsageError } from '../options.ts';

export const PRUNE_HELP = `mesh prune — delete old inputs and results from the local store

Usage: mesh prune [--older-than <duration>] [--dry-run] [--json]

Deletes the inputs and results logged longer ago than retention.events in mesh.yaml
(default 7d), the failures resolved longer ago than retention.resolvedFailures
(default 30d) with their replay history, the held results approved or rejected as long
ago, and the audit records of model calls made longer ago than retention.audit (default
365d). Open failures and pending approvals are never deleted; claims are kept,
so a late duplicate of a pruned event still finds its result. mesh dev prunes the same way
each time it starts.

  --older-than <d>   prune events older than this instead (e.g. 36h, 7d, 2w)
  --dry-run          count what would be deleted, delete nothing
${COMMON_HELP}`;

export async function pruneCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    'older-than': { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
  });
  if (values.help) return (console.log(PRUNE_HELP), 0);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const opts = commonOptions(values);
  const olderThan = values['older-than'] === undefined ? undefined : durationOption('--older-than', values['older-than']);

  // mesh dev holds the store (one process at a time) and prunes it when it starts.
  const dev = await findRunningDev(opts.home);
  if (dev) {
    console.error(`mesh prune: mesh dev is running for ${opts.home} (pid ${dev.pid}) and holds its store. It prunes at every start: stop it and run mesh prune, or restart it.`);
    return 1;
  }
  const config = await loadMeshConfig(opts.config);
  const retention: RetentionSettings = { ...(config.retention ?? DEFAULT_RETENTION), ...(olderThan === undefined ? {} : { eventsMs: olderThan }) };

  const store = await openLocalStore({ dir: opts.home });
  let report: PruneReport;
  try {
    report = await store.prune(retention, { dryRun: values['dry-run'] });
  } finally {
    await store.close();
  }
  if (opts.json) {
    console.log(
      JSON.stringify(
        {
          dryRun: report.dryRun,
          events: { olderThan: formatDuration(retention.eventsMs), before: report.eventsBefore, count: report.events },
          resolvedFailures: { olderThan: formatDuration(retention.resolvedFailuresMs), before: report.resolvedFailuresBefore, count: report.resolvedFailures },
          decidedApprovals: { olderThan: formatDuration(retention.resolvedFailuresMs), before: report.resolvedFailuresBefore, count: report.decidedApprovals },
          audit: { olderThan: formatDuration(retention.auditMs), before: report.auditBefore, count: report.audit },
        },
        null,
        2,
      ),
    );
  } else {
    console.log(pruneSummary(report, retention));
  }
  return 0;
}

/**
 * One line saying what a prune did, for `mesh prune` and the start of `mesh dev`.
 *
 * @example
 * pruneSummary(report, retention)
 * // 'Pruned 120 inputs and results older than 7d and 2 failures resolved more than 30d ago; open failures are kept. Pruned 0 audit records older than 365d and 0 approvals decided more than 30d ago; pending approvals are kept.'
 */
export function pruneSummary(report: PruneReport, retention: RetentionSettings): string {
  const verb = report.dryRun ? 'Would prune' : 'Pruned';
  const events = `${report.events} ${report.events === 1 ? 'input or result' : 'inputs and results'} older than ${formatDuration(retention.eventsMs)}`;
  const failures = `${report.resolvedFailures} ${report.resolvedFailures === 1 ? 'failure' : 'failures'} resolved more than ${formatDuration(retention.resolvedFailuresMs)} ago`;
  const audit = `${report.audit} audit ${report.audit === 1 ? 'record' : 'records'} older than ${formatDuration(retention.auditMs)}`;
  const approvals = `${report.decidedApprovals} ${report.decidedApprovals === 1 ? 'approval' : 'approvals'} decided more than ${formatDuration(retention.resolvedFailuresMs)} ago`;
  return `${verb} ${events} and ${failures}; open failures are kept. ${verb} ${audit} and ${approvals}; pending approvals are kept.`;
}

function durationOption(name: string, raw: string): number {
  const ms = parseDuration(raw);
  if (ms === undefined || ms === 0) throw new UsageError(`${name}: ${DURATION_HINT}, got ${JSON.stringify(raw)}`);
  return ms;
}
