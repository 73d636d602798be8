import { TableClient } from '@azure/data-tables';

/**
 * The idempotency table from the environment: `MESH_IDEMPOTENCY_TABLE` (default
 * `meshidempotency`) in the account of `AzureWebJobsStorage` (connection string), or at
 * `MESH_TABLES_ENDPOINT` / `AzureWebJobsStorage__tableServiceUri` with DefaultAzureCredential.
 */
export async function tableClientFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<TableClient | undefined> {
  const table = env.MESH_IDEMPOTENCY_TABLE ?? 'meshidempotency';
  const endpoint = env.MESH_TABLES_ENDPOINT ?? env.AzureWebJobsStorage__tableServiceUri;
  if (endpoint) {
    const { DefaultAzureCredential } = await import('@azure/identity');
    return new TableClient(endpoint, table, new DefaultAzureCredential());
  }
  const cs = env.AzureWebJobsStorage;
  if (!cs) return undefined;
  return TableClient.fromConnectionString(cs, table, cs.includes('UseDevelopmentStorage=true') || cs.includes('http://') ? { allowInsecureConnection: true } : {});
}
