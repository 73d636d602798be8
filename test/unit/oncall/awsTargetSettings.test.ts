import { describe, expect, it } from 'vitest';
import { awsTargetSettings } from '../../../shared/oncall/awsTargetSettings.ts';

describe('awsTargetSettings: the counters table of a replay in AWS', () => {
  const env = { MESH_IDEMPOTENCY_TABLE: 'idem', MESH_EVENT_BUS: 'acme-orders', AWS_REGION: 'eu-west-1' };

  it('takes MESH_COUNTERS_TABLE as the function has it, and the stack output over it', () => {
    expect(awsTargetSettings({ ...env, MESH_COUNTERS_TABLE: 'counters-env' })).toMatchObject({ countersTable: 'counters-env' });
    expect(awsTargetSettings({ ...env, MESH_COUNTERS_TABLE: 'counters-env' }, { countersTable: 'counters-stack' })).toMatchObject({ countersTable: 'counters-stack' });
  });

  it('leaves it out when the deployment has none (a stack from before counters)', () => {
    expect(awsTargetSettings(env)).toEqual({ idempotencyTable: 'idem', eventBus: 'acme-orders', region: 'eu-west-1' });
  });
});
