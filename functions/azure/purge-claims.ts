import type { InvocationContext } from '@azure/functions';
import { TableIdempotencyStore, tableClientFromEnv } from '../../shared/store/tables/index.ts';

/**
 * The daily timer that keeps the idempotency table from growing forever (Table Storage has no
 * TTL): deletes completed claims past their 24 hours and in-progress claims nobody came back
 * for. Settings as on-message: MESH_IDEMPOTENCY_TABLE in AzureWebJobsStorage, or
 * MESH_TABLES_ENDPOINT with the app's identity.
 */
export function purgeClaimsFromEnv(env: NodeJS.ProcessEnv = process.env) {
  return async function purgeClaims(_timer: unknown, context: InvocationContext): Promise<void> {
    const client = await tableClientFromEnv(env);
    if (!client) throw new Error('purge-claims: no idempotency table: set AzureWebJobsStorage (or MESH_TABLES_ENDPOINT) and MESH_IDEMPOTENCY_TABLE');
    const started = Date.now();
    const report = await new TableIdempotencyStore({ client }).purgeExpired(undefined, (r) => context.debug('purging expired claims', r));
    context.log('expired claims purged', { table: env.MESH_IDEMPOTENCY_TABLE ?? 'meshidempotency', ...report, ms: Date.now() - started });
  };
}
