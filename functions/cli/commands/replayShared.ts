import { userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import type { ReplayOutcome, ReplayOutcomeKind } from '../../../shared/core/index.ts';
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

  done(): void {
    if (this.live) process.stderr.write('\n');
  }
}

