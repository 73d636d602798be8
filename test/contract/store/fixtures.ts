import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TableClient } from '@azure/data-tables';
import type { Envelope, EventLogEntry, FailureRecord, Store } from '../../../shared/core/index.ts';
import type { AuditEntry } from '../../../shared/core/ports/AuditLog.ts';
import { createDynamoDbStore } from '../../../shared/store/dynamodb/index.ts';
import { createMemoryStore, openLocalStore } from '../../../shared/store/index.ts';
import { createTableStore } from '../../../shared/store/tables/index.ts';
import { startDynamoDbFake, type DynamoDbFake } from '../../fakes/dynamoDbFake.ts';
import type { FakeClock } from '../../fakes/fakeClock.ts';
import { startTableStorageFake, type TableStorageFake } from '../../fakes/tableStorageFake.ts';

/**
 * An envelope with the awkward parts a store must keep exactly: key order that is not
 * alphabetical, unicode, nested arrays, numbers with fractions, nulls, empty containers.
 */
export function envelope(id = 'evt-1'): Envelope {
  return {
    event: {
      specversion: '1.0',
      id,
      source: 'com.example.orders',
      type: 'OrderPlaced',
      time: '2026-11-22T07:59:59.123Z',
      datacontenttype: 'application/json',
      data: { zeta: 1, alpha: [3, 1.5, -0.25, null], 'naïve ✓': { b: {}, a: [] }, big: 9007199254740991, text: 'line\nbreak "quoted" \\ ✈' },
      extensions: { datalocation: 'aws:eu-west-1', correlationid: 'c-1', priority: 3, urgent: false },
    },
    origin: { transport: 'eventbridge', cloud: 'aws', region: 'eu-west-1', account: '123456789012', bus: 'orders', deliveryCount: 2 },
  };
}

export function failure(overrides: Partial<FailureRecord> = {}): FailureRecord {
  return {
    id: 'f-1',
    at: '2026-11-22T08:00:00.000Z',
    eventId: 'evt-1',
    routeId: 'score-order',
    errorCode: 'ModelThrottled',
    message: 'endpoint throttled',
    retryable: true,
    attempts: [{ endpoint: 'bedrock-eu', region: 'eu-west-1', attempt: 1, startedAt: '2026-11-22T07:59:59.500Z', latencyMs: 412, error: { code: 'ModelThrottled', message: 'slow down', retryable: true } }],
    placement: {
      routeId: 'score-order',
      classification: 'personal',
      location: { cloud: 'aws', region: 'eu-west-1', from: 'event' },
      policy: 'personal data stays in the EU',
      ranked: [],
      rejected: [{ endpointId: 'openai-global', reason: 'outside the EU' }],
    },
    envelope: envelope(overrides.eventId),
    status: 'open',
    failures: 1,
    ...overrides,
  };
}

export function entry(overrides: Partial<EventLogEntry> = {}): EventLogEntry {
  return { at: '2026-11-22T08:00:00.000Z', kind: 'input', eventId: 'evt-1', type: 'OrderPlaced', source: 'com.example.orders', envelope: envelope(), ...overrides };
}

/** One model invocation attempt, as the invoke step records it (no content). */
export function auditEntry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    at: '2026-11-22T08:00:00.000Z',
    routeId: 'order-risk',
    eventId: 'evt-1',
    endpoint: 'sim-bedrock-us-east-1',
    provider: 'simulated',
    model: 'm',
    cloud: 'aws',
    region: 'us-east-1',
    attempt: 1,
    dataLocation: 'aws:us-east-1',
    dataLocationSource: 'route',
    classification: 'internal',
    tokens: { input: 100, output: 20 },
    costUsd: 0.000027,
    outcome: 'ok',
    errorCode: null,
    latencyMs: 42,
    ...overrides,
  };
}

export interface Adapter {
  name: string;
  /** False for the cloud edges, whose failure ledger and event log only log (the transport keeps both). */
  keepsLedger: boolean;
  /** Called once before the suite; returns a cleanup. */
  setup(): Promise<() => Promise<void>>;
  /** A fresh, empty store; `reopen` is set when the adapter persists. */
  open(clock: FakeClock): Promise<{ store: Store; reopen?: () => Promise<Store>; cleanup: () => Promise<void> }>;
}

export const memoryAdapter: Adapter = {
  name: 'memory',
  keepsLedger: true,
  setup: async () => async () => {},
  open: async (clock) => ({ store: createMemoryStore({ clock }), cleanup: async () => {} }),
};

/** The embedded store, in a fresh directory per test (creating one takes milliseconds). */
export function localAdapter(): Adapter {
  return {
    name: 'local (SQLite)',
    keepsLedger: true,
    setup: async () => async () => {},
    async open(clock) {
      const dir = await mkdtemp(join(tmpdir(), 'nearmesh-store-'));
      const store = await openLocalStore({ dir, clock });
      let current = store;
      return {
        store,
        reopen: async () => {
          await current.close();
          current = await openLocalStore({ dir, clock });
          return current;
        },
        cleanup: async () => {
          await current.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

/**
 * The Lambda edge's store as deployed (Powertools' DynamoDB persistence layer, fenced, on the
 * real DynamoDBClient) against the DynamoDB wire fake: one fake per suite, one table per test.
 */
export function dynamoDbAdapter(): Adapter {
  let fake: DynamoDbFake | undefined;
  let tables = 0;
  return {
    name: 'DynamoDB (Powertools)',
    keepsLedger: false,
    async setup() {
      fake = await startDynamoDbFake();
      return () => fake!.close();
    },
    async open(clock) {
      const tableName = `idempotency-${++tables}`;
      fake!.createTable(tableName);
      const client = new DynamoDBClient({ endpoint: fake!.url, region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }, maxAttempts: 1 });
      // Completed records live two days here: the contract looks one day later, and the
      // table's TTL (24 h by default) is not what it specifies.
      const store = createDynamoDbStore({ tableName, client, clock, expiresAfterSeconds: 2 * 24 * 60 * 60 });
      return {
        store,
        cleanup: async () => {
          await store.close();
          client.destroy();
        },
      };
    },
  };
}

/**
 * The Azure edge's store as deployed (TableIdempotencyStore, creating its table on first use)
 * on the real @azure/data-tables client against the Table REST fake: one table per test.
 */
export function tableStorageAdapter(): Adapter {
  let fake: TableStorageFake | undefined;
  let tables = 0;
  return {
    name: 'Table Storage',
    keepsLedger: false,
    async setup() {
      fake = await startTableStorageFake();
      return () => fake!.close();
    },
    async open(clock) {
      const client = TableClient.fromConnectionString(fake!.connectionString, `idempotency${++tables}`, { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
      const store = createTableStore({ client, clock });
      return { store, cleanup: () => store.close() };
    },
  };
}
