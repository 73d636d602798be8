// Telemetry adapters: the pipeline's spans and metrics through the OpenTelemetry API.
export { openTelemetry, type OpenTelemetryOptions } from './openTelemetry.ts';
