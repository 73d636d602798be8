import { describe, expect, it } from 'vitest';
import { counterWindow, usageKeys } from '../../../shared/core/index.ts';
import { formatRouteUsage, readUsageReport } from '../../../shared/placement/index.ts';
import { memoryCounters } from '../../../shared/store/memory/index.ts';
import { FakeClock } from '../../fakes/fakeClock.ts';
import { config, endpoint, route } from '../pipeline/fixtures.ts';

const NOW = Date.parse('2026-11-22T08:00:10.000Z');

function mesh() {
  const c = config();
  c.models = [{ ...endpoint('near'), limits: { rpm: 2, tpm: 1000 } }, endpoint('far')];
  return { config: c, routes: [route({}, { maxTokens: 100, budget: { tokens: 1000, costUsd: 0.5, per: 'hour' } }), route({ id: 'plain' })] };
}

describe('readUsageReport', () => {
  it('reads each budget and limit in its current window, and says exhausted once no further call fits', async () => {
    const { config: c, routes } = mesh();
    // Counters drop the windows that ended by their clock: theirs must be the report's.
    const counters = memoryCounters(new FakeClock(new Date(NOW).toISOString()));
    await counters.adjust(usageKeys.budgetTokens('order-risk'), counterWindow('hour', NOW), 950); // 950 + maxTokens 100 > 1000
    await counters.adjust(usageKeys.budgetMicroUsd('order-risk'), counterWindow('hour', NOW), 250_000);
    await counters.adjust(usageKeys.rpm('near'), counterWindow('minute', NOW), 1);

    const report = await readUsageReport(c, routes, counters, NOW);

    expect(report.counted).toBe(true);
    expect(report.routes).toEqual({
      'order-risk': [
        { what: 'tokens', used: 950, limit: 1000, per: 'hour', resetsAt: '2026-11-22T09:00:00.000Z', exhausted: true },
        { what: 'costUsd', used: 0.25, limit: 0.5, per: 'hour', resetsAt: '2026-11-22T09:00:00.000Z', exhausted: false },
      ],
    });
    expect(report.endpoints).toEqual({
      near: [
        { what: 'rpm', used: 1, limit: 2, per: 'minute', resetsAt: '2026-11-22T08:01:00.000Z', exhausted: false },
        { what: 'tpm', used: 0, limit: 1000, per: 'minute', resetsAt: '2026-11-22T08:01:00.000Z', exhausted: false },
      ],
    });
    expect(formatRouteUsage(report, 'order-risk', ['near', 'far'])).toEqual([
      '  budget   tokens 950 of 1000 per hour — exhausted until 2026-11-22T09:00:00.000Z; costUsd $0.25 of $0.5 per hour, resets at 2026-11-22T09:00:00.000Z',
      '  limits   near: rpm 1 of 2 per minute, resets at 2026-11-22T08:01:00.000Z; tpm 0 of 1000 per minute, resets at 2026-11-22T08:01:00.000Z',
    ]);
  });

  it('shows the use as unknown, never as zero, when there are no counters to read', async () => {
    const { config: c, routes } = mesh();

    const report = await readUsageReport(c, routes, undefined, NOW);

    expect(report.counted).toBe(false);
    expect(formatRouteUsage(report, 'order-risk', ['near'])).toEqual([
      '  budget   tokens ? of 1000 per hour (no counters to read); costUsd ? of $0.5 per hour (no counters to read)',
      '  limits   near: rpm ? of 2 per minute (no counters to read); tpm ? of 1000 per minute (no counters to read)',
    ]);
  });
});
