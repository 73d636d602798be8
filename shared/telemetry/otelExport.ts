/*
 * Exporting the mesh's spans and metrics from a process that has no OpenTelemetry SDK of its
 * own (`mesh dev --otel`, or the standard OTEL_* variables). The SDK and the OTLP exporters are
 * imported here, dynamically, only when export is asked for: without it nothing of them loads.
 */

export interface OtelExport {
  /** What is exported where, for the console. */
  readonly description: string;
  /** Export what is still buffered, then stop. */
  shutdown(): Promise<void>;
}

/**
 * Whether the process should export: `--otel`, or an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), or `OTEL_TRACES_EXPORTER` naming an exporter. The SDK's
 * own `OTEL_SDK_DISABLED=true` wins over all of them.
 *
 * @example otelExportWanted(false, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318' }) // → true
 */
export function otelExportWanted(flag: boolean, env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  return flag || Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) || (exporter !== undefined && exporter !== '' && exporter !== 'none');
}

/**
 * Register the OpenTelemetry SDK globally: spans through a batch processor, metrics through a
 * periodic reader, each to OTLP/HTTP (JSON; the exporters read the standard
 * `OTEL_EXPORTER_OTLP_*` variables, default `http://localhost:4318`) or to the console
 * (`OTEL_TRACES_EXPORTER=console`, `OTEL_METRICS_EXPORTER=console`); `none` turns either off.
 * The service is `OTEL_SERVICE_NAME`, default `nearmesh`; `OTEL_BSP_SCHEDULE_DELAY` and
 * `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds) say how often each is sent.
 *
 * @example
 * const otel = otelExportWanted(values.otel, process.env) ? await startOtelExport(process.env) : undefined;
 * // … on exit:
 * await otel?.shutdown();
 */
export async function startOtelExport(env: NodeJS.ProcessEnv, serviceName = 'nearmesh'): Promise<OtelExport> {
  const [api, sdkTrace, sdkMetrics, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/sdk-metrics'),
    import('@opentelemetry/resources'),
  ]);
  const resource = resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || serviceName });
  const tracesTo = exporterName(env.OTEL_TRACES_EXPORTER);
  const metricsTo = exporterName(env.OTEL_METRICS_EXPORTER);
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT || 'http://localhost:4318';
  // The SDK's own default (60 s); the reader does not read the variable itself.
  const interval = positive(env.OTEL_METRIC_EXPORT_INTERVAL) ?? 60_000;
  const delay = positive(env.OTEL_BSP_SCHEDULE_DELAY);

  const spanExporter =
    tracesTo === 'otlp' ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter() : tracesTo === 'console' ? new sdkTrace.ConsoleSpanExporter() : undefined;
  const tracerProvider = new sdkTrace.TracerProvider({
    resource,
    spanProcessors: spanExporter ? [new sdkTrace.BatchSpanProcessor({ exporter: spanExporter, ...(delay === undefined ? {} : { scheduledDelayMillis: delay }) })] : [],
  });
  const metricExporter =
    metricsTo === 'otlp'
      ? new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter()
      : metricsTo === 'console'
        ? new sdkMetrics.ConsoleMetricExporter()
        : undefined;
  const meterProvider = new sdkMetrics.MeterProvider({
    resource,
    readers: metricExporter ? [new sdkMetrics.PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: interval, exportTimeoutMillis: Math.min(interval, 30_000) })] : [],
  });
  api.trace.setGlobalTracerProvider(tracerProvider);
  api.metrics.setGlobalMeterProvider(meterProvider);

  const where = (to: string) => (to === 'otlp' ? `OTLP/HTTP ${endpoint}` : to);
  return {
    description: `traces → ${where(tracesTo)}, metrics → ${where(metricsTo)}`,
    async shutdown() {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
      api.trace.disable();
      api.metrics.disable();
    },
  };
}

/** `otlp` (the default), `console` or `none`; anything else is read as `otlp`, as the SDK does for unknown names. */
function exporterName(value: string | undefined): 'otlp' | 'console' | 'none' {
  const first = value?.split(',')[0]?.trim().toLowerCase();
  return first === 'console' || first === 'none' ? first : 'otlp';
}

function positive(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(n) && n > 0 ? n : undefined;
}
