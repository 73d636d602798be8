import { userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import type { ReplayOutcome, ReplayOutcomeKind } from '../../../shared/core/index.ts';
import { parseDuration } from '../../../shared/config/index.ts';
import { InvalidWhereError, parseWhere, type CircuitWaitNotice, type WhereClause } from '../../../shared/oncall/index.ts';
import { UsageError } from '../options.ts';

/* What every replay flow (local ledger, SQS dead letters) shares: confirmation, progress, wording. */

/** Above this many events, ask first (a replay can cost real model calls). Keep REPLAY_HELP in step. */
export const CONFIRM_ABOVE = 10;

export const VERB: Record<ReplayOutcomeKind, string> = {
  succeeded: '✓ succeeded',
  'failed-again': '✗ failed again',
  'already-done': '= already done',
  'not-replayed': '· not replayed',
  'would-replay': '→ would replay',
  'would-skip': '· would skip',
};


/** Default of --max-wait: how long a run may wait on open circuits without a success in between. */
export const DEFAULT_MAX_WAIT_MS = 60_000;

/** `--max-wait 60s` / `2m` / `0` → milliseconds. */
export function maxWaitOption(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_MAX_WAIT_MS;
  if (raw.trim() === '0') return 0;
  const ms = parseDuration(raw);
  if (ms === undefined) throw new UsageError(`--max-wait: expected a duration like 60s or 2m (0: never wait), got ${JSON.stringify(raw)}`);
  return ms;
}

/** Every `--where path=value` given, parsed (a malformed one is a usage error). */
export function whereOption(raw: readonly string[] | undefined): WhereClause[] {
  try {
    return (raw ?? []).map(parseWhere);
  } catch (err) {
    if (err instanceof InvalidWhereError) throw new UsageError(err.message);
    throw err;
  }
}

export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new UsageError('this would replay more than 10 events and there is no terminal to ask: pass --yes (or --dry-run first)');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export function summarize(outcomes: ReplayOutcome[]): Record<ReplayOutcomeKind, number> {
  const counts: Record<ReplayOutcomeKind, number> = { succeeded: 0, 'failed-again': 0, 'already-done': 0, 'not-replayed': 0, 'would-replay': 0, 'would-skip': 0 };
  for (const o of outcomes) counts[o.outcome]++;
  return counts;
}
/**
 * Progress on stderr: a one-line bar on a terminal, otherwise one line per event (what a
 * log or CI job keeps), so stdout stays the summary or the JSON.
 */
export class Progress {
  private n = 0;
  private readonly counts = { ok: 0, failed: 0, skipped: 0 };
  private readonly live = process.stderr.isTTY === true;

  constructor(private readonly total: number) {}

  update(o: ReplayOutcome): void {
    this.n++;
    if (o.outcome === 'succeeded' || o.outcome === 'would-replay') this.counts.ok++;
    else if (o.outcome === 'failed-again') this.counts.failed++;
    else this.counts.skipped++;
    if (!this.live) {
      process.stderr.write(`[${this.n}/${this.total}] ${VERB[o.outcome]} ${o.failureId} (event ${o.eventId ?? '?'}, route ${o.routeId ?? '?'})\n`);
      return;
    }
    const width = 30;
    const filled = Math.round((this.n / this.total) * width);
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.n}/${this.total}  ok ${this.counts.ok} · failed ${this.counts.failed} · skipped ${this.counts.skipped}`,
    );
  }

  /** Waiting for an open circuit: said on the progress line (a line of its own off a terminal). */
  waiting(n: CircuitWaitNotice): void {
    const line = `waiting ${Math.ceil(n.waitMs / 1000)} s for the circuit of ${n.endpoints.join(', ')} to close (until ${n.until.toISOString()}; ${Math.floor(n.budgetLeftMs / 1000)} s of --max-wait left)`;
    process.stderr.write(this.live ? `\r${line}\x1b[K` : `[${this.n}/${this.total}] ${line}\n`);
  }

  done(): void {
    if (this.live) process.stderr.write('\n');
  }
}

