import { z } from 'zod';

/*
 * The closed shape of a route file. References into mesh.yaml (classification, models,
 * destinations), the pattern language, templates and the output schema are checked in
 * loadRoutes, which knows the config and the file's location.
 */

export const ROUTE_ID = /^[a-z0-9][a-z0-9-]*$/;
const nonEmpty = z.string().min(1);
const mapping = z.record(z.string(), z.unknown());

// What a route may spend per UTC window; checked before each model call.
const budgetSchema = z
  .strictObject({
    tokens: z.number().int().positive().optional(),
    costUsd: z.number().positive().optional(),
    per: z.enum(['minute', 'hour', 'day'], { error: 'expected per: minute | hour | day (the window the budget counts)' }),
  })
  .refine((b) => b.tokens !== undefined || b.costUsd !== undefined, { error: 'expected tokens or costUsd (or both), e.g. { tokens: 200000, per: day }' });

export const routeSchema = z.strictObject({
  id: z.string().regex(ROUTE_ID, { error: 'expected a route id of lower-case letters, digits and "-" (like order-risk)' }),
  description: z.string().optional(),
  match: mapping,
  data: z.strictObject({
    classification: nonEmpty,
    location: nonEmpty.optional(),
    // Whether an event's `datalocation` may say where its data lives. Unset: only when the
    // route declares no location (a declared location is authoritative).
    trustEventLocation: z.boolean().optional(),
  }),
  task: z.strictObject({
    system: z.string().optional(),
    prompt: nonEmpty,
    output: mapping,
    maxTokens: z.number().int().positive(),
    temperature: z.number().min(0).max(2).optional(),
    models: z.array(nonEmpty).min(1).optional(),
    timeoutMs: z.number().int().positive().default(20_000),
    attemptsPerEndpoint: z.number().int().min(1).max(10).default(2),
    budget: budgetSchema.optional(),
  }),
  emit: z.strictObject({
    source: nonEmpty,
    detailType: nonEmpty,
    to: z.array(nonEmpty).default([]),
  }),
  // A human decides before the result is published (`mesh approve <result-id>`).
  approval: z.enum(['required', 'none']).default('none'),
  // The pending-approval event carries the model's answer only when the route says so.
  approvalShowsOutput: z.boolean().optional(),
});

export type RouteFile = z.output<typeof routeSchema>;
