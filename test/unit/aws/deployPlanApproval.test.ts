import { describe, expect, it } from 'vitest';
import { deployPlan } from '../../../functions/aws/deploy/deployPlan.ts';
import { config, route } from '../pipeline/fixtures.ts';

describe('deploy plan and approval', () => {
  const options = { service: 'nearmesh', stage: 'dev', eventBus: 'acme-ingress' };

  it('adds one rule for approval events from the configured source when a route requires approval, delivering the whole event', () => {
    const plan = deployPlan({ ...config(), approvals: { source: 'com.acme.risk-desk' } }, [route({ approval: 'required' })], options);

    expect(plan.rules.map((r) => r.name)).toEqual(['nearmesh-dev-order-risk', 'nearmesh-dev-approvals']);
    expect(plan.rules[1]).toMatchObject({ pattern: { source: ['com.acme.risk-desk'], 'detail-type': ['nearmesh.Approval'] }, inputTemplate: '<aws.events.event.json>' });
  });

  it('adds none when no route requires approval', () => {
    expect(deployPlan(config(), [route()], options).rules.map((r) => r.name)).toEqual(['nearmesh-dev-order-risk']);
  });
});
