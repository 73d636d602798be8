import { describe, expect, it } from 'vitest';
import { otelExportWanted } from '../../../shared/telemetry/otelExport.ts';

describe('when mesh dev and the Azure function export spans and metrics', () => {
  it.each([
    [false, {}, false],
    [true, {}, true],
    [false, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [false, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [false, { OTEL_TRACES_EXPORTER: 'console' }, true],
    [false, { OTEL_TRACES_EXPORTER: 'none' }, false],
    [false, { OTEL_EXPORTER_OTLP_ENDPOINT: '' }, false],
    [true, { OTEL_SDK_DISABLED: 'true' }, false],
    [false, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'TRUE' }, false],
  ])('--otel %s with %j → %s', (flag, env, wanted) => {
    expect(otelExportWanted(flag, env)).toBe(wanted);
  });
});
