import { z } from 'zod';
import { DURATION_HINT, parseDuration } from './retention.ts';

/*
 * The closed shape of mesh.yaml, as written by people (short forms allowed). Cross-field
 * rules (cloud implied by provider, region required unless global, faults summing to ≤ 1)
 * live in loadMeshConfig, where they can name the exact field.
 */

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'expected a name of letters, digits, ".", "_" or "-"' });
const nonEmpty = z.string().min(1);
const probability = z.number().min(0).max(1);

export const PROVIDERS = ['simulated', 'bedrock', 'azure-openai', 'openai'] as const;
export const CLOUDS = ['aws', 'azure', 'onprem', 'openai'] as const;
export const SCOPES = ['region', 'geography', 'global'] as const;
export const RESIDENCY_SHORTHANDS = ['anywhere', 'same-geography', 'same-cloud', 'same-region'] as const;

const simulatedSchema = z.strictObject({
  latencyMs: z
    .union([z.number().min(0), z.tuple([z.number().min(0), z.number().min(0)])], { error: 'expected milliseconds as a number or [min, max]' })
    .default([40, 120]),
  faults: z
    .strictObject({
      throttle: probability.default(0),
      error: probability.default(0),
      timeout: probability.default(0),
      malformed: probability.default(0),
    })
    .default({ throttle: 0, error: 0, timeout: 0, malformed: 0 }),
  retryAfterMs: z.number().int().min(0).default(200),
});

export const modelSchema = z.strictObject({
  id: name,
  provider: z.enum(PROVIDERS),
  cloud: z.enum(CLOUDS).optional(),
  region: nonEmpty.optional(),
  scope: z.enum(SCOPES).default('region'),
  model: nonEmpty.optional(),
  price: z.strictObject({ input: z.number().min(0).default(0), output: z.number().min(0).default(0) }).default({ input: 0, output: 0 }),
  capabilities: z.array(nonEmpty).default(['json']),
  options: z.record(z.string(), z.unknown()).default({}),
  simulated: simulatedSchema.optional(),
  // The endpoint's own quota per UTC minute: placement skips it once reached rather than draw 429s.
  limits: z
    .strictObject({ rpm: z.number().int().positive().optional(), tpm: z.number().int().positive().optional() })
    .refine((l) => l.rpm !== undefined || l.tpm !== undefined, { error: 'expected rpm or tpm (or both), e.g. { rpm: 60, tpm: 100000 }' })
    .optional(),
});

const same = z.enum(['same', 'any']);
const residencyRuleSchema = z.union([z.enum(RESIDENCY_SHORTHANDS), z.strictObject({ cloud: same, geography: same, region: same })], {
  error: `expected one of ${RESIDENCY_SHORTHANDS.join(' | ')} or { cloud, geography, region: same | any }`,
});

const destinationSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('local') }),
  z.strictObject({
    kind: z.literal('eventbridge'),
    bus: nonEmpty,
    region: nonEmpty.optional(),
    claimCheck: z.strictObject({ bucket: nonEmpty, prefix: z.string().optional(), region: nonEmpty.optional() }).optional(),
  }),
  z.strictObject({ kind: z.literal('servicebus'), namespace: nonEmpty, entity: nonEmpty, region: nonEmpty.optional() }),
]);

export const PLACEMENT_STRATEGIES = ['data-gravity', 'nearest'] as const;
const DEFAULT_CIRCUIT = { failures: 5, windowMs: 60_000, cooldownMs: 30_000 };

const placementSchema = z
  .strictObject({
    strategy: z.enum(PLACEMENT_STRATEGIES).default('data-gravity'),
    crossCloudPenaltyKm: z.number().min(0).default(0),
    circuit: z
      .strictObject({
        failures: z.number().int().min(1).default(DEFAULT_CIRCUIT.failures),
        windowMs: z.number().int().min(1).default(DEFAULT_CIRCUIT.windowMs),
        cooldownMs: z.number().int().min(1).default(DEFAULT_CIRCUIT.cooldownMs),
      })
      .default(DEFAULT_CIRCUIT),
  })
  // A penalty that data-gravity would silently ignore is a misunderstanding worth reporting.
  .refine((p) => p.strategy === 'nearest' || p.crossCloudPenaltyKm === 0, {
    path: ['crossCloudPenaltyKm'],
    error: 'only used by strategy nearest (data-gravity ranks by tier first); set strategy: nearest or remove it',
  })
  .default({ strategy: 'data-gravity', crossCloudPenaltyKm: 0, circuit: DEFAULT_CIRCUIT });

// A positive duration (`7d`), parsed to milliseconds; defaults are applied by the loader.
// A bare number (`events: 7`) gets the same hint as any other mistake: it lacks its unit.
const duration = z
  .unknown()
  .refine((value) => typeof value === 'string' && (parseDuration(value) ?? 0) > 0, { error: DURATION_HINT })
  .transform((value) => parseDuration(value as string)!);

const retentionSchema = z.strictObject({
  /** Inputs and results in the local event log. */
  events: duration.optional(),
  /** Failures, counted from when they were resolved; open failures are never pruned. */
  resolvedFailures: duration.optional(),
  /** Audit records of model invocations, counted from when the call was made. */
  audit: duration.optional(),
});

export const meshSchema = z.strictObject({
  seed: z.number().int().default(42),
  models: z.array(modelSchema).min(1),
  residency: z.record(name, residencyRuleSchema),
  sources: z.record(name, z.strictObject({ cloud: z.enum(['aws', 'azure', 'onprem']), region: nonEmpty })).default({}),
  sites: z
    .record(name, z.strictObject({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180), geography: nonEmpty }))
    .default({}),
  destinations: z.record(name, destinationSchema).default({}),
  placement: placementSchema,
  retention: retentionSchema.optional(),
  // The only source approval events (type nearmesh.Approval) are accepted from.
  approvals: z.strictObject({ source: nonEmpty }).optional(),
});

export type MeshFile = z.output<typeof meshSchema>;
export type ModelEntry = z.output<typeof modelSchema>;
