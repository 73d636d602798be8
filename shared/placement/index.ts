// Placement: where an event's data lives, what its residency rule allows, and the nearest endpoints.
export type { CircuitBreaker, CircuitState } from './circuitBreaker.ts';
export { createCircuitBreaker, DEFAULT_CIRCUIT } from './circuitBreaker.ts';
export type { PlacerOptions } from './createPlacer.ts';
export { createPlacer } from './createPlacer.ts';
export { classificationSource, describeLocation, formatPlacement, summarizePlacement } from './explain.ts';
export type { RouteExplanation, RouteExplanationJson } from './explainRoute.ts';
export { explainRoute, explanationToJson } from './explainRoute.ts';
export type { Place, ResolvedLocation } from './location.ts';
export { findPlace, resolveDataLocation } from './location.ts';
export type { RankingOptions, Screened } from './rank.ts';
export { rankEndpoints, screenEndpoints } from './rank.ts';
export type { Coordinates, RegionCloud, RegionInfo } from './regions.ts';
export { cloudOfRegion, GEOGRAPHIES, greatCircleKm, lookupRegion, REGIONS } from './regions.ts';
export type { Allowed, Classification } from './residency.ts';
export { allows, classify, describeRule, guaranteedGeography } from './residency.ts';
export type { UsageLine, UsageReport } from './usageReport.ts';
export { formatRouteUsage, formatUsageLine, readUsageReport, routeUsageJson } from './usageReport.ts';
