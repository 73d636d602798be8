import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { toEventBridgeEvent, type Envelope, type ReplayOutcome, type ReplayOutcomeKind } from '../../../shared/core/index.ts';
import { parseDuration } from '../../../shared/config/index.ts';
import { InvalidWhereError, mergePatchBetween, parseWhere, type CircuitWaitNotice, type WhereClause } from '../../../shared/oncall/index.ts';
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

/** A patch for one replay: its text and where it came from (kept in the history). */
export interface PatchChoice {
  patch: string;
  patchFrom: string;
}

/** `--patch <file>`: the merge patch's text, checked to be a JSON object before anything runs. */
export async function readPatchFile(file: string): Promise<PatchChoice> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--patch ${file}: cannot read it (${(err as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--patch ${file}: not JSON (${(err as Error).message})`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UsageError(`--patch ${file}: expected a JSON object, a merge patch on the event's detail (e.g. {"customer":{"tier":"gold"}})`);
  }
  return { patch: text, patchFrom: basename(file) };
}

/**
 * `--edit`: the event (EventBridge shape) opened in $EDITOR (else $VISUAL, else vi); only its
 * detail may change. Returns the merge patch between the two details, or undefined when the
 * engineer changed nothing.
 */
export async function editEvent(envelope: Envelope, env: NodeJS.ProcessEnv = process.env): Promise<PatchChoice | undefined> {
  const before = toEventBridgeEvent(envelope);
  const dir = await mkdtemp(join(tmpdir(), 'mesh-edit-'));
  const file = join(dir, `${before.id}.json`);
  try {
    await writeFile(file, JSON.stringify(before, null, 2) + '\n', { mode: 0o600 });
    const editor = env.EDITOR || env.VISUAL || 'vi';
    // Through the shell, as git does: EDITOR may carry arguments ("code --wait").
    const run = spawnSync(`${editor} "$MESH_EDIT_FILE"`, { shell: true, stdio: 'inherit', env: { ...env, MESH_EDIT_FILE: file } });
    if (run.status !== 0) throw new UsageError(`--edit: the editor (${editor}) exited with ${run.status ?? run.signal}; nothing was replayed`);
    let after: unknown;
    try {
      after = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new UsageError(`--edit: the edited event is not JSON (${(err as Error).message}); nothing was replayed`);
    }
    if (after === null || typeof after !== 'object' || Array.isArray(after)) throw new UsageError('--edit: the edited event must stay a JSON object; nothing was replayed');
    const changed = Object.keys({ ...before, ...after }).filter((k) => k !== 'detail' && JSON.stringify((before as unknown as Record<string, unknown>)[k]) !== JSON.stringify((after as Record<string, unknown>)[k]));
    if (changed.length > 0) throw new UsageError(`--edit: only the detail may change (${changed.join(', ')} identify the event and where it came from); nothing was replayed`);
    const patch = mergePatchBetween(before.detail, (after as Record<string, unknown>).detail);
    return patch === undefined ? undefined : { patch: JSON.stringify(patch), patchFrom: '--edit' };
  } finally {
    await rm(dir, { recursive: true, force: true });
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
/** Up to this many events, off a terminal, each gets its line; past it, a line every PLAIN_EVERY. */
const PLAIN_EACH_UP_TO = 100;
const PLAIN_EVERY = 100;

/**
 * Progress on stderr: a one-line bar with the rate and an ETA on a terminal; otherwise (a log,
 * a CI job) one line per event for small runs and a line every 100 for large ones, so stdout
 * stays the summary or the JSON. The total may grow (a queue read in parts): the ETA is shown
 * once the total is final.
 */
export class Progress {
  private n = 0;
  private readonly counts = { ok: 0, failed: 0, skipped: 0 };
  private readonly live = process.stderr.isTTY === true;
  private readonly started = Date.now();
  private final: boolean;

  constructor(private total: number | undefined) {
    this.final = total !== undefined;
  }

  /** The number of events to replay so far, and whether that is all of them. */
  expect(total: number, final: boolean): void {
    this.total = total;
    this.final = final;
  }

  update(o: ReplayOutcome): void {
    this.n++;
    if (o.outcome === 'succeeded' || o.outcome === 'would-replay') this.counts.ok++;
    else if (o.outcome === 'failed-again') this.counts.failed++;
    else this.counts.skipped++;
    const of = `${this.n}/${this.total ?? '?'}${this.final ? '' : '+'}`;
    if (!this.live) {
      if ((this.total ?? 0) <= PLAIN_EACH_UP_TO && this.n <= PLAIN_EACH_UP_TO) {
        process.stderr.write(`[${of}] ${VERB[o.outcome]} ${o.failureId} (event ${o.eventId ?? '?'}, route ${o.routeId ?? '?'})\n`);
      } else if (this.n % PLAIN_EVERY === 0 || this.n === this.total) {
        process.stderr.write(`[${of}] ${this.tally()}${this.eta()}\n`);
      }
      return;
    }
    const width = 30;
    const filled = this.total ? Math.min(width, Math.round((this.n / this.total) * width)) : 0;
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${of}  ${this.tally()}${this.eta()}\x1b[K`);
  }

  /** Waiting for an open circuit: said on the progress line (a line of its own off a terminal). */
  waiting(n: CircuitWaitNotice): void {
    const line = `waiting ${Math.ceil(n.waitMs / 1000)} s for the circuit of ${n.endpoints.join(', ')} to close (until ${n.until.toISOString()}; ${Math.floor(n.budgetLeftMs / 1000)} s of --max-wait left)`;
    process.stderr.write(this.live ? `\r${line}\x1b[K` : `[${this.n}/${this.total ?? '?'}] ${line}\n`);
  }

  done(): void {
    if (this.live && this.n > 0) process.stderr.write('\n');
  }

  private tally(): string {
    return `ok ${this.counts.ok} · failed ${this.counts.failed} · skipped ${this.counts.skipped}`;
  }

  /** `· 42.0/s · ETA 3m12s` once the rate is measurable; the ETA only when the total is final. */
  private eta(): string {
    const seconds = (Date.now() - this.started) / 1000;
    if (seconds < 0.5 || this.n === 0) return '';
    const perSecond = this.n / seconds;
    const rate = ` · ${perSecond.toFixed(1)}/s`;
    if (!this.final || this.total === undefined) return rate;
    const left = Math.max(0, Math.round((this.total - this.n) / perSecond));
    return `${rate} · ETA ${left >= 60 ? `${Math.floor(left / 60)}m${String(left % 60).padStart(2, '0')}s` : `${left}s`}`;
  }
}
