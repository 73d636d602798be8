import { TableClient } from '@azure/data-tables';
import { TableStoreError } from './TableIdempotencyStore.ts';

/**
 * The idempotency table from the environment: `MESH_IDEMPOTENCY_TABLE` (default
 * `meshidempotency`) in the account of `AzureWebJobsStorage` (connection string), or at
 * `MESH_TABLES_ENDPOINT` / `AzureWebJobsStorage__tableServiceUri` with DefaultAzureCredential.
 * Settings the SDK cannot use throw a retryable TableStoreError naming the setting to fix
 * (retryable: an app setting can be corrected without redeploying).
 *
 * @example
 * const client = await tableClientFromEnv(); // undefined when no storage is configured
 */
export async function tableClientFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<TableClient | undefined> {
  const table = env.MESH_IDEMPOTENCY_TABLE ?? 'meshidempotency';
  const endpoint = env.MESH_TABLES_ENDPOINT ?? env.AzureWebJobsStorage__tableServiceUri;
  if (endpoint) {
    const setting = env.MESH_TABLES_ENDPOINT ? 'MESH_TABLES_ENDPOINT' : 'AzureWebJobsStorage__tableServiceUri';
    if (!URL.canParse(endpoint)) throw badSetting(setting, `${JSON.stringify(endpoint)} is not a URL (expected https://<account>.table.core.windows.net)`);
    const { DefaultAzureCredential } = await import('@azure/identity');
    return settingOrThrow(setting, () => new TableClient(endpoint, table, new DefaultAzureCredential()));
  }
  const cs = env.AzureWebJobsStorage;
  if (!cs) return undefined;
  return settingOrThrow('AzureWebJobsStorage', () =>
    TableClient.fromConnectionString(cs, table, cs.includes('UseDevelopmentStorage=true') || cs.includes('http://') ? { allowInsecureConnection: true } : {}),
  );
}

function settingOrThrow(setting: string, make: () => TableClient): TableClient {
  try {
    return make();
  } catch (err) {
    // Never echo the value: a connection string holds the account key.
    throw badSetting(setting, `the SDK cannot use it (${err instanceof Error ? err.message : String(err)})`, err);
  }
}

function badSetting(setting: string, why: string, cause?: unknown): TableStoreError {
  return new TableStoreError(`idempotency table: check the app setting ${setting}: ${why}`, { ...(cause === undefined ? {} : { cause }), context: { setting } });
}
