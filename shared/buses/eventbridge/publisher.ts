import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry, type PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import {
  PayloadTooLargeError,
  PublishFailedError,
  PublishRejectedError,
  silentLogger,
  toMeshError,
  type ClaimCheck,
  type Destination,
  type Envelope,
  type Logger,
  type MeshError,
  type Publisher,
  type PublishOutcome,
} from '../../core/index.ts';
import { errorSummary, redact } from '../../models/redact.ts';
import { claimCheckDetail, claimCheckKey, claimCheckReference, S3ClaimCheckStore, type ClaimCheckStore } from './claimCheck.ts';
import { encodePutEventsEntry, type PutEventsEntry } from './codec.ts';
import {
  batchEntries,
  DEFAULT_MAX_ENTRY_BYTES,
  DEFAULT_MAX_REQUEST_BYTES,
  isRetryableEntryError,
  PUT_EVENTS_MAX_ENTRIES,
  putEventsEntrySize,
} from './publisherEntries.ts';

export interface EventBridgePublisherOptions {
  /**
   * The client for a region (`undefined`: the default region). Default: one SDK client per
   * region, which reads the credential chain and AWS_ENDPOINT_URL_EVENTBRIDGE like any other.
   */
  client?: (region: string | undefined) => EventBridgeClient;
  /** Entry size limit; 256 KB today, larger once AWS raises it. */
  maxEntryBytes?: number;
  maxRequestBytes?: number;
  /** Calls per batch for entries that keep failing with a retryable code (first call included). Default 4. */
  maxAttempts?: number;
  /** First backoff; doubled per attempt, capped at `maxDelayMs`, with jitter. Defaults 100 ms and 2 s. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** The X-Ray trace header to stamp on results that carry none (Lambda: `_X_AMZN_TRACE_ID`). */
  traceHeader?: () => string | undefined;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  logger?: Logger;
  /** Where destinations with `claimCheck` store oversized details. Default: S3 (loaded on first use). */
  claimChecks?: ClaimCheckStore;
}

interface Pending {
  index: number;
  id: string;
  entry: PutEventsEntry;
  size: number;
}

/**
 * Publishes results to an EventBridge bus with PutEvents: batches of at most 10 entries
 * within the request size limit; after a partial failure only the failed entries are sent
 * again, with capped exponential backoff and jitter. Entries over the size limit fail alone
 * with PayloadTooLargeError; the rest of the batch still goes.
 *
 * @example
 * const publisher = new EventBridgePublisher({ traceHeader: () => process.env._X_AMZN_TRACE_ID });
 * await publisher.publish({ name: 'orders-bus', kind: 'eventbridge', bus: 'acme-orders' }, [result]);
 */
export class EventBridgePublisher implements Publisher {
  private readonly clients = new Map<string, EventBridgeClient>();
  private readonly maxEntryBytes: number;
  private readonly maxRequestBytes: number;
  private readonly maxAttempts: number;
  private readonly logger: Logger;
  private claimChecks: ClaimCheckStore | undefined;

  constructor(private readonly opts: EventBridgePublisherOptions = {}) {
    this.maxEntryBytes = opts.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
    this.maxRequestBytes = Math.max(opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES, this.maxEntryBytes);
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 4);
    this.logger = opts.logger ?? silentLogger;
  }

  async publish(destination: Destination, events: Envelope[]): Promise<PublishOutcome[]> {
    const bus = destination.bus ?? 'default';
    const outcomes: PublishOutcome[] = new Array(events.length);
    const pending: Pending[] = [];
    await Promise.all(
      events.map(async (envelope, index) => {
        let entry = encodePutEventsEntry(envelope, bus);
        const trace = entry.TraceHeader ?? this.opts.traceHeader?.();
        if (trace) entry.TraceHeader = trace;
        let size = putEventsEntrySize(entry);
        if (size > this.maxEntryBytes && destination.claimCheck) {
          try {
            entry = await this.claimCheck(destination.claimCheck, envelope, entry);
          } catch (err) {
            outcomes[index] = { id: envelope.event.id, ok: false, error: toMeshError(err, { eventId: envelope.event.id, destination: destination.name }) };
            return;
          }
          const stored = size;
          size = putEventsEntrySize(entry);
          this.logger.info('result detail stored by claim check', { eventId: envelope.event.id, destination: destination.name, bytes: stored, entryBytes: size });
        }
        if (size > this.maxEntryBytes) {
          outcomes[index] = {
            id: envelope.event.id,
            ok: false,
            error: new PayloadTooLargeError(
              `result ${envelope.event.id} is ${size} bytes as a PutEvents entry; EventBridge takes at most ${this.maxEntryBytes} (destination ${destination.name}${destination.claimCheck ? ', even with its detail claim-checked' : '; give it a claimCheck bucket in mesh.yaml to send a reference instead'})`,
              { context: { eventId: envelope.event.id, destination: destination.name, size, limit: this.maxEntryBytes } },
            ),
          };
          return;
        }
        pending.push({ index, id: envelope.event.id, entry, size });
      }),
    );
    pending.sort((a, b) => a.index - b.index);
    const client = this.client(destination.region);
    for (const batch of batchEntries(pending, PUT_EVENTS_MAX_ENTRIES, this.maxRequestBytes)) {
      for (const [index, outcome] of await this.sendBatch(client, destination, batch)) outcomes[index] = outcome;
    }
    return outcomes;
  }

  /** Send one batch, resending only the entries that failed retryably, until all are done or attempts run out. */
  private async sendBatch(client: EventBridgeClient, destination: Destination, batch: Pending[]): Promise<Map<number, PublishOutcome>> {
    const done = new Map<number, PublishOutcome>();
    let todo = batch;
    for (let attempt = 1; todo.length > 0; attempt++) {
      let results: PutEventsResultEntry[];
      try {
        const out = await client.send(new PutEventsCommand({ Entries: todo.map((p) => toSdkEntry(p.entry)) }));
        results = out.Entries ?? [];
      } catch (err) {
        // The SDK already retried throttling and 5xx on the whole call; what is left fails every entry.
        const error = callError(err, destination);
        for (const p of todo) done.set(p.index, { id: p.id, ok: false, error });
        return done;
      }
      const retry: Pending[] = [];
      for (const [i, p] of todo.entries()) {
        const r = results[i];
        if (r && r.EventId && !r.ErrorCode) {
          done.set(p.index, { id: p.id, ok: true });
          continue;
        }
        const code = r?.ErrorCode;
        // EventBridge's text, not ours: redacted like every answer from a bus.
        const message = redact(r?.ErrorMessage ?? (r ? 'no EventId returned' : 'no result entry returned'));
        if (isRetryableEntryError(code) && attempt < this.maxAttempts) {
          retry.push(p);
          continue;
        }
        const text = `PutEvents to ${destination.name} failed for result ${p.id} after ${attempt} attempt(s): ${code ?? 'UnknownError'}: ${message}`;
        const options = { context: { eventId: p.id, destination: destination.name, errorCode: code, attempts: attempt } };
        done.set(p.index, { id: p.id, ok: false, error: isRetryableEntryError(code) ? new PublishFailedError(text, options) : new PublishRejectedError(text, options) });
      }
      if (retry.length > 0) {
        const delay = this.backoff(attempt);
        this.logger.warn('PutEvents partial failure; resending the failed entries', { destination: destination.name, failed: retry.length, attempt, delayMs: delay });
        await (this.opts.sleep ?? sleep)(delay);
      }
      todo = retry;
    }
    return done;
  }

  private backoff(attempt: number): number {
    const base = this.opts.baseDelayMs ?? 100;
    const cap = this.opts.maxDelayMs ?? 2000;
    const full = Math.min(cap, base * 2 ** (attempt - 1));
    return Math.round(full / 2 + (full / 2) * (this.opts.random ?? Math.random)());
  }

  private client(region: string | undefined): EventBridgeClient {
    const key = region ?? '';
    let client = this.clients.get(key);
    if (!client) {
      client = this.opts.client ? this.opts.client(region) : new EventBridgeClient(region ? { region } : {});
      this.clients.set(key, client);
    }
    return client;
  }

  /** Store the detail (`<prefix><result id>.json`) and return the entry with a reference instead. */
  private async claimCheck(target: ClaimCheck, envelope: Envelope, entry: PutEventsEntry): Promise<PutEventsEntry> {
    const key = claimCheckKey(target, envelope.event.id);
    await (this.claimChecks ??= this.opts.claimChecks ?? new S3ClaimCheckStore()).put(target, key, entry.Detail, envelope.event.id);
    const detail = claimCheckDetail(envelope.event.data, claimCheckReference(target, key, entry.Detail));
    return { ...entry, Detail: JSON.stringify(detail) };
  }

  /** Release the clients' sockets. */
  close(): void {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
    this.claimChecks?.close?.();
  }
}

function toSdkEntry(entry: PutEventsEntry): PutEventsRequestEntry {
  const { Time, ...rest } = entry;
  return Time === undefined ? rest : { ...rest, Time: new Date(Time) };
}

interface SdkErrorLike {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** A whole PutEvents call failed: classify it once for every entry in it. */
function callError(err: unknown, destination: Destination): MeshError {
  const e = (err ?? {}) as SdkErrorLike;
  const status = e.$metadata?.httpStatusCode;
  const said = redact(`${e.name ?? 'Error'}: ${e.message ?? String(err)}`);
  // A summary, not the SDK error: that one holds the response and its headers.
  const options = { cause: errorSummary(err), context: { destination: destination.name, ...(status === undefined ? {} : { status }) } };
  if (status === 413 || /too large|exceeds? .*size/i.test(e.message ?? '')) {
    return new PayloadTooLargeError(`PutEvents to ${destination.name} refused the request as too large: ${said}`, options);
  }
  if (status !== undefined && status >= 400 && status < 500 && status !== 429 && !/Throttl/i.test(e.name ?? '')) {
    return new PublishRejectedError(`PutEvents to ${destination.name} was refused: ${said}`, options);
  }
  return new PublishFailedError(`PutEvents to ${destination.name} failed: ${said}`, options);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
