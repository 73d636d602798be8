import type { ModelEndpoint } from '../catalogue.ts';
import type { Envelope } from '../envelope.ts';
import type { Route } from '../route.ts';

/** Where the data lives, and how we know. */
export interface DataLocation {
  /** `aws`, `azure`, `onprem`, or `unknown`. */
  cloud: string;
  region?: string;
  geography?: string;
  /** Which input decided: the event's `datalocation` extension, the route, the origin, or nothing. */
  from: 'event' | 'route' | 'origin' | 'source' | 'unknown';
}

export interface RankedEndpoint {
  endpoint: ModelEndpoint;
  tier: number;
  distanceKm: number | null;
  /** One line a human can read: "same cloud and region (aws us-east-1), 0 km". */
  reason: string;
}

export interface RejectedEndpoint {
  endpointId: string;
  reason: string;
}

/** An allowed endpoint left out of this decision because its circuit is open. */
export interface SkippedEndpoint {
  endpointId: string;
  /** `circuit open until <ISO time>`. */
  reason: string;
  until: string;
}

/** A placement decision: printable (`mesh explain`) and attached to every result. */
export interface PlacementDecision {
  routeId: string;
  classification: string;
  location: DataLocation;
  /** The residency rule applied, in words. */
  policy: string;
  /** Allowed endpoints, best first. The pipeline tries them in this order. */
  ranked: RankedEndpoint[];
  rejected: RejectedEndpoint[];
  /** Allowed endpoints skipped because their circuit is open; never tried. */
  skipped?: SkippedEndpoint[];
}

/**
 * The circuit of each endpoint, fed by the invoke step: after repeated retryable failures an
 * endpoint is left alone for a while, then tried again. In-process state, so per instance.
 */
export interface EndpointHealth {
  /** When the endpoint's circuit is open, the time it half-opens; undefined when it may be called. */
  openUntil(endpointId: string): Date | undefined;
  succeeded(endpointId: string): void;
  failed(endpointId: string, error: { retryable: boolean }): void;
}

/** Decides which endpoints may serve a route for an event, best first. Throws PolicyViolationError when none may, a retryable error when every allowed one's circuit is open. */
export interface Placer {
  place(route: Route, envelope: Envelope): PlacementDecision;
}
