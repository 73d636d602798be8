import type { ModelCallTrace, RouteTrace, Telemetry } from './ports/Telemetry.ts';
import { newTraceContext } from './trace.ts';

const noCall: ModelCallTrace = { end() {} };

/**
 * The pipeline's telemetry when none is given: no spans, no metrics, but the trace context
 * still travels: a result carries its input's trace context as it came (a hop that records
 * nothing passes it on unchanged), or a new trace when the input had none.
 */
export const propagateOnly: Telemetry = {
  route(_routeId, _envelope, parent): RouteTrace {
    const context = parent ?? newTraceContext();
    return { context, modelCall: () => noCall, send: () => ({ context, end() {} }), end() {} };
  },
};
