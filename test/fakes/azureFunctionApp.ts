import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceBusClient } from '@azure/service-bus';
import { vi } from 'vitest';
import { startServiceBusFunctionsHost, type InvocationReport, type ServiceBusFunctionsHost } from './functionsHost.ts';
import { startServiceBusPeer, type ServiceBusPeer } from './serviceBusPeer.ts';
import { startTableStorageFake, type TableStorageFake } from './tableStorageFake.ts';

/*
 * What the end-to-end tests of the Azure function app share: a directory laid out as the app's
 * package (mesh.yaml, the ticket-triage route, the schemas), the AMQP peer playing Service Bus
 * (locks of 3 s, MaxDeliveryCount 3), the Table Storage fake for claims, the app settings the
 * functions read stubbed (holds before an abandon at most 0.2 s, so the files stay fast), and
 * the stand-in Functions host that invokes the registered functions. A test file still calls
 * `installFunctionsCore()` and `afterAll(stopSettlementServer)` itself (once per file).
 */

export const REPO = join(import.meta.dirname, '..', '..');

export interface AzureFunctionAppOptions {
  /** mkdtemp prefix. */
  prefix: string;
  meshYaml: string;
  /** The ticket-triage route as the test needs it. */
  route: (yaml: string) => string;
  /** Topics and their subscriptions on the peer. */
  topics: Record<string, string[]>;
  /** App settings beside the common ones (another namespace's connection, say). */
  env?: (peer: ServiceBusPeer) => Record<string, string>;
  /** Create the claims table before the first invocation. */
  createClaimsTable?: boolean;
}

export interface AzureFunctionApp {
  dir: string;
  peer: ServiceBusPeer;
  tables: TableStorageFake;
  /** A client of the peer, as a producer or a test reader uses it. */
  client: ServiceBusClient;
  host: ServiceBusFunctionsHost;
  /** Loads the registration module (as the worker does at start) and runs one invocation of on-message. */
  invokeOnMessage(): Promise<InvocationReport>;
  close(): Promise<void>;
}

export async function startAzureFunctionApp(options: AzureFunctionAppOptions): Promise<AzureFunctionApp> {
  const dir = await mkdtemp(join(tmpdir(), options.prefix));
  await mkdir(join(dir, 'events', 'routes'), { recursive: true });
  await cp(join(REPO, 'events', 'schemas'), join(dir, 'events', 'schemas'), { recursive: true });
  const route = await readFile(join(REPO, 'events', 'routes', 'ticket-triage.yaml'), 'utf8');
  await writeFile(join(dir, 'events', 'routes', 'ticket-triage.yaml'), options.route(route));
  await writeFile(join(dir, 'mesh.yaml'), options.meshYaml);
  const peer = await startServiceBusPeer({ topics: options.topics, maxDeliveryCount: 3, lockDurationMs: 3_000 });
  const tables = await startTableStorageFake();
  const client = new ServiceBusClient(peer.connectionString);
  const env: Record<string, string> = {
    MESH_CONFIG: join(dir, 'mesh.yaml'),
    MESH_ROUTES_DIR: join(dir, 'events', 'routes'),
    ServiceBusConnection: peer.connectionString,
    MESH_SERVICEBUS_NAMESPACE: 'acme-support',
    MESH_INPUT_TOPIC: 'tickets',
    MESH_SUBSCRIPTION: 'mesh',
    MESH_RESULTS_ENTITY: 'tickets-triaged',
    MESH_MAX_DELIVERY_COUNT: '3',
    MESH_LOCK_DURATION_SECONDS: '3',
    MESH_RETRY_WAIT_MAX_SECONDS: '0.2',
    AzureWebJobsStorage: tables.connectionString,
    MESH_IDEMPOTENCY_TABLE: 'meshidempotency',
    ...options.env?.(peer),
  };
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  vi.resetModules();
  const host = await startServiceBusFunctionsHost(client);
  if (options.createClaimsTable) {
    await (await import('@azure/data-tables')).TableClient.fromConnectionString(tables.connectionString, 'meshidempotency', { allowInsecureConnection: true }).createTable();
  }
  return {
    dir,
    peer,
    tables,
    client,
    host,
    async invokeOnMessage() {
      await import('../../functions/azure/app.ts');
      return host.invoke('on-message');
    },
    async close() {
      vi.unstubAllEnvs();
      vi.restoreAllMocks();
      await host.close();
      await client.close();
      await peer.close();
      await tables.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
