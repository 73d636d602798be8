import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { EventOutcome, Provenance } from '../../shared/core/index.ts';

export const METRICS_NAMESPACE = 'nearmesh';

/**
 * One EMF document per route outcome, with dimensions route and endpoint: results,
 * failures, duplicates, tokens, cost (USD) and latency. A separate Metrics instance per
 * route, because Powertools puts one dimension set on all metrics of a flush.
 */
export function publishRouteMetrics(outcome: EventOutcome, serviceName: string): void {
  for (const r of outcome.routes) {
    const endpoint = r.endpoint ?? r.attempts.at(-1)?.endpoint ?? 'none';
    const m = new Metrics({ namespace: METRICS_NAMESPACE, serviceName, defaultDimensions: { route: r.routeId, endpoint } });
    if (r.status === 'emitted') {
      m.addMetric('results', MetricUnit.Count, 1);
      const provenance = (r.result?.event.data as { provenance?: Provenance } | undefined)?.provenance;
      if (provenance) {
        m.addMetric('tokens', MetricUnit.Count, provenance.tokens.input + provenance.tokens.output);
        m.addMetric('costUsd', MetricUnit.NoUnit, provenance.costUsd);
        m.addMetric('modelLatency', MetricUnit.Milliseconds, provenance.latencyMs);
      }
    } else if (r.status === 'duplicate') {
      m.addMetric('duplicates', MetricUnit.Count, 1);
    } else {
      m.addMetric('failures', MetricUnit.Count, 1);
    }
    m.addMetric('latency', MetricUnit.Milliseconds, r.latencyMs);
    m.publishStoredMetrics();
  }
}
