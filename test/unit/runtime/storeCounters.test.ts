import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsFromEnv } from '../../../functions/aws/meshFromEnv.ts';
import { counterWindow } from '../../../shared/core/index.ts';
import { createAwsMesh } from '../../../shared/runtime/createAwsMesh.ts';
import { createAzureMesh } from '../../../shared/runtime/createAzureMesh.ts';
import { startDynamoDbFake, type DynamoDbFake } from '../../fakes/dynamoDbFake.ts';
import { ScriptedProvider } from '../../fakes/scriptedProvider.ts';
import { startTableStorageFake, type TableStorageFake } from '../../fakes/tableStorageFake.ts';

/*
 * The edges' meshes make the store's counters available as deployed: the Lambda from
 * MESH_COUNTERS_TABLE (its own DynamoDB table), the Function in its idempotency table.
 */

const REPO = join(import.meta.dirname, '..', '..', '..');
const files = { configFile: join(REPO, 'mesh.yaml'), routesDir: join(REPO, 'events', 'routes') };
const providers = { get: () => new ScriptedProvider({}) };
const w = counterWindow('minute', Date.parse('2026-11-22T08:00:30.000Z'));

describe('usage counters of the edges\' stores', () => {
  let dynamo: DynamoDbFake;
  let tables: TableStorageFake;
  const saved = { ...process.env };

  beforeAll(async () => {
    dynamo = await startDynamoDbFake();
    tables = await startTableStorageFake();
    // The SDK's default client, as in Lambda, pointed at the fake.
    Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: dynamo.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret' });
  });
  afterAll(async () => {
    for (const k of ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await dynamo.close();
    await tables.close();
  });

  it('the Lambda reads MESH_COUNTERS_TABLE, and its mesh counts in that table', async () => {
    dynamo.createTable('stack-idempotency');
    dynamo.createTable('stack-counters');
    const settings = settingsFromEnv({ MESH_IDEMPOTENCY_TABLE: 'stack-idempotency', MESH_COUNTERS_TABLE: 'stack-counters', MESH_CONFIG: files.configFile, MESH_ROUTES_DIR: files.routesDir });
    expect(settings.mesh).toMatchObject({ idempotencyTable: 'stack-idempotency', countersTable: 'stack-counters' });

    const mesh = await createAwsMesh({ ...settings.mesh, providers });
    try {
      expect(await mesh.store.counters?.reserve('limit:ep:rpm', w, 1, 5)).toEqual({ ok: true, used: 1 });
      expect(dynamo.items('stack-counters')).toHaveLength(1);
    } finally {
      await mesh.close();
    }
  });

  it('a Lambda deployed without a counters table has no counters (a mesh that declares budgets must refuse to start)', async () => {
    const mesh = await createAwsMesh({ ...files, idempotencyTable: 'stack-idempotency', providers });
    try {
      expect(mesh.store.counters).toBeUndefined();
    } finally {
      await mesh.close();
    }
  });

  it('the Function\'s mesh counts in its idempotency table', async () => {
    const tableClient = TableClient.fromConnectionString(tables.connectionString, 'meshidempotency', { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });

    const mesh = await createAzureMesh({ ...files, homeNamespace: 'acme-support', tableClient, providers, publishers: { servicebus: { publish: async () => [] } } });
    try {
      expect(await mesh.store.counters?.reserve('limit:ep:rpm', w, 2, 5)).toEqual({ ok: true, used: 2 });
      expect(tables.entities('meshidempotency').map((e) => e.PartitionKey)).toEqual(['counter:limit%3Aep%3Arpm']);
    } finally {
      await mesh.close();
    }
  });
});
