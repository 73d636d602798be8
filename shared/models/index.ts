// Model providers: the registry the pipeline looks providers up in, and the simulated provider.
export { ProviderRegistry, ProviderUnavailableError, defaultProviders } from './registry.ts';
export type { DefaultProvidersOptions } from './registry.ts';
export { SimulatedProvider, DEFAULT_SIMULATED_SETTINGS, drawFault } from './simulated/SimulatedProvider.ts';
export type { SimulatedFault, SimulatedProviderOptions } from './simulated/SimulatedProvider.ts';
export { generateFromSchema } from './simulated/generate.ts';
export type { GenerateHints, JsonSchema } from './simulated/generate.ts';
export { malformedFromSchema } from './simulated/malform.ts';
export type { Malformation } from './simulated/malform.ts';
export { callRng, hashString, seededRng } from './simulated/rng.ts';
export type { CallKey, Rng } from './simulated/rng.ts';
