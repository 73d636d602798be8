import type { Store } from '../core/index.ts';
import type { AwsTargetSettings } from './awsTargetSettings.ts';
import type { ReplayTarget } from './ReplayTarget.ts';

/** Which deployment a dead letter is replayed in. */
export type CloudTarget =
  | { cloud: 'aws'; settings: AwsTargetSettings }
  | { cloud: 'azure'; namespace: string; env?: NodeJS.ProcessEnv };

export interface OpenReplayTargetOptions {
  configFile: string;
  routesDir: string;
  models?: 'live' | 'simulated';
  /** The local ledger, where replay history is kept. */
  ledger: Store['failures'];
}

/**
 * Open the deployment a cloud dead letter came from as a replay target. The cloud's SDKs load
 * here, on first use, so commands that never replay from a cloud do not load them.
 *
 * @example
 * const target = await openReplayTarget({ cloud: 'aws', settings: awsTargetSettings() }, { configFile, routesDir, ledger });
 */
export async function openReplayTarget(target: CloudTarget, options: OpenReplayTargetOptions): Promise<ReplayTarget> {
  if (target.cloud === 'aws') {
    const { openAwsReplayTarget } = await import('./awsReplayTarget.ts');
    return openAwsReplayTarget({ ...options, settings: target.settings });
  }
  const { openAzureReplayTarget } = await import('./azureReplayTarget.ts');
  return openAzureReplayTarget({ ...options, namespace: target.namespace, ...(target.env ? { env: target.env } : {}) });
}
