/** What `mesh.yaml` declares: the model catalogue, residency policy, sources and destinations. */

export type Cloud = 'aws' | 'azure' | 'onprem' | 'openai';
export type ProviderKind = 'simulated' | 'bedrock' | 'azure-openai' | 'openai';
export type Scope = 'region' | 'geography' | 'global';

/** Fault injection for a simulated endpoint: probability per call of each failure. */
export interface SimulatedFaults {
  throttle: number;
  error: number;
  timeout: number;
  malformed: number;
}

export interface SimulatedSettings {
  /** Latency of each call, uniformly drawn from [min, max] milliseconds. */
  latencyMs: { min: number; max: number };
  faults: SimulatedFaults;
  /** Retry-After hint a simulated throttle returns. */
  retryAfterMs: number;
}

export interface ModelEndpoint {
  /** Catalogue id, e.g. `bedrock-us-east-1-gpt-oss`. */
  id: string;
  provider: ProviderKind;
  /** The cloud the endpoint runs in (bedrock → aws, azure-openai → azure; simulated says which it imitates). */
  cloud: Cloud;
  /** Region (home region for a geography scope). Absent for a global-only endpoint such as OpenAI's API. */
  region?: string;
  scope: Scope;
  /** The provider's model id / deployment name. */
  model: string;
  /** USD per million tokens. */
  price: { input: number; output: number };
  capabilities: string[];
  /** Provider-specific settings (base URL, deployment, api version); never secrets. */
  options: Record<string, unknown>;
  /** Present when provider is `simulated`. */
  simulated?: SimulatedSettings;
  /** The endpoint's own rate limits (per UTC minute), shared by every instance; absent: none. */
  limits?: EndpointLimits;
}

/** Requests and tokens (input + output) an endpoint takes per minute. */
export interface EndpointLimits {
  rpm?: number;
  tpm?: number;
}

/** How far data of one classification may travel to reach a model. */
export interface ResidencyRule {
  cloud: 'same' | 'any';
  geography: 'same' | 'any';
  region: 'same' | 'any';
}

export interface SourceLocation {
  cloud: Cloud;
  region: string;
}

/** Where an EventBridge destination stores a result's detail that is too large for an entry. */
export interface ClaimCheck {
  bucket: string;
  /** Key prefix, e.g. `results/`; the key is `<prefix><result id>.json`. */
  prefix?: string;
  /** The bucket's region; default the function's. */
  region?: string;
}

export interface Destination {
  name: string;
  kind: 'local' | 'eventbridge' | 'servicebus';
  /** EventBridge bus name or ARN. */
  bus?: string;
  /** EventBridge only: store oversized details in S3 and publish a reference instead of failing. */
  claimCheck?: ClaimCheck;
  /** Service Bus namespace and topic/queue. */
  namespace?: string;
  entity?: string;
  region?: string;
}

export interface Site {
  name: string;
  lat: number;
  lon: number;
  geography: string;
}

/** How allowed endpoints are ordered: by tier then distance (`data-gravity`), or by distance alone (`nearest`). */
export type PlacementStrategy = 'data-gravity' | 'nearest';

/** When an endpoint's circuit opens: `failures` consecutive retryable failures within `windowMs`; it half-opens after `cooldownMs`. */
export interface CircuitSettings {
  failures: number;
  windowMs: number;
  cooldownMs: number;
}

export interface PlacementSettings {
  strategy: PlacementStrategy;
  /** `nearest` only: kilometres added to an endpoint on another cloud than the data's. */
  crossCloudPenaltyKm: number;
  circuit: CircuitSettings;
}

/** How long the local store keeps what it no longer needs (`retention:` in mesh.yaml). */
export interface RetentionSettings {
  /** Inputs and results logged longer ago than this are pruned. */
  eventsMs: number;
  /** Failures resolved longer ago than this are pruned, with their replay history. Open failures never are. */
  resolvedFailuresMs: number;
  /** Audit records (model invocations) made longer ago than this are pruned. */
  auditMs: number;
}

export interface MeshConfig {
  /** The file it was loaded from. */
  file: string;
  models: ModelEndpoint[];
  /** classification → rule. */
  residency: Record<string, ResidencyRule>;
  /** Where named sources live: Service Bus namespaces, EventBridge buses, on-prem systems. */
  sources: Record<string, SourceLocation>;
  destinations: Record<string, Destination>;
  /** On-prem sites, usable as `onprem:<name>` locations. */
  sites: Record<string, Site>;
  /** Seed for the simulated provider: same seed, same answers. */
  seed: number;
  /** Ranking strategy and circuit breaker; defaults (data-gravity, 5 failures in 60 s, 30 s cooldown) when absent. */
  placement?: PlacementSettings;
  /** What the local store prunes; defaults (events 7 days, resolved failures 30 days, audit 365 days) when absent. */
  retention?: RetentionSettings;
  /** Who may send approval events: their source. Default `nearmesh.approvals`. */
  approvals?: { source: string };
}

/**
 * What `usage` costs at `endpoint`'s catalogue price, in micro-USD, unrounded (the price is USD
 * per million tokens). The one formula behind a result's `costUsd`, an audit record's and a
 * budget's reservation, so they never disagree.
 */
export function usageCostMicroUsd(endpoint: Pick<ModelEndpoint, 'price'>, usage: { inputTokens: number; outputTokens: number }): number {
  return usage.inputTokens * endpoint.price.input + usage.outputTokens * endpoint.price.output;
}
