import { metrics, trace } from '@opentelemetry/api';
import { AggregationTemporality, MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';

/** A metric reader the test collects from when it wants: what a periodic exporter would send. */
class TestMetricReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

export interface OtelMemory {
  /** Every span ended so far. */
  spans(): ReadableSpan[];
  /** The data points of histogram `name`, collected now. */
  histogram(name: string): Promise<DataPoint<Histogram>[]>;
  /** Unregister the SDK (the API is a no-op again). */
  shutdown(): Promise<void>;
}

/**
 * The OpenTelemetry SDK registered globally, as `mesh dev --otel` or an SDK layer does, with
 * the in-memory span exporter and a metric reader the test collects from.
 */
export function registerOtelMemory(): OtelMemory {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const reader = new TestMetricReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  return {
    spans: () => exporter.getFinishedSpans(),
    histogram: async (name) => {
      const { resourceMetrics } = await reader.collect();
      const found = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
      return (found?.dataPoints ?? []) as DataPoint<Histogram>[];
    },
    shutdown: async () => {
      trace.disable();
      metrics.disable();
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** The spans of one trace by kind of work: what the tests assert on. */
export function spansOf(spans: ReadableSpan[], traceId: string) {
  const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
  const byName = (re: RegExp) => inTrace.filter((s) => re.test(s.name));
  return { all: inTrace, process: byName(/^process\b/), chat: byName(/^chat /), send: byName(/^send\b/) };
}

/** The span id of a span's parent (undefined for a root span). */
export function parentSpanId(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
