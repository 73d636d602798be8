// Model providers: the registry the pipeline looks providers up in, the simulated provider,
// and what the real adapters share. The adapters themselves (./bedrock, ./openai) import
// their SDKs and have their own doors; the registry loads them on first use.
export { ProviderRegistry, ProviderUnavailableError, defaultProviders } from './registry.ts';
export type { DefaultProvidersOptions } from './registry.ts';
export { LazyProvider } from './LazyProvider.ts';
export type { ProviderExtras } from './LazyProvider.ts';
export { checkOptions } from './options.ts';
export type { EndpointIssue } from './options.ts';
export { checkBedrockEndpoint, BEDROCK_OPTIONS } from './bedrock/bedrockOptions.ts';
export { checkAzureEndpoint, checkOpenAIEndpoint, azureSettings, openaiSettings, AZURE_OPTIONS, OPENAI_OPTIONS } from './openai/openaiOptions.ts';
export type { AzureSettings, OpenAISettings } from './openai/openaiOptions.ts';
export { answerWithRepair, parseJsonAnswer, repairInstruction } from './structured.ts';
export type { Repair, Turn } from './structured.ts';
export { redact, ProviderErrorCause } from './redact.ts';
export { headerGetter, retryAfterMs } from './retryAfter.ts';
export type { HeaderGetter } from './retryAfter.ts';
export { SimulatedProvider, DEFAULT_SIMULATED_SETTINGS, drawFault } from './simulated/SimulatedProvider.ts';
export type { SimulatedFault, SimulatedProviderOptions } from './simulated/SimulatedProvider.ts';
export { generateFromSchema } from './simulated/generate.ts';
export type { GenerateHints, JsonSchema } from './simulated/generate.ts';
export { malformedFromSchema } from './simulated/malform.ts';
export type { Malformation } from './simulated/malform.ts';
export { callRng, hashString, seededRng } from './simulated/rng.ts';
export type { CallKey, Rng } from './simulated/rng.ts';
