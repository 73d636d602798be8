// The bedrock adapter (imports the AWS SDK: load it through this door only when needed).
export { BedrockProvider } from './BedrockProvider.ts';
export type { BedrockProviderOptions } from './BedrockProvider.ts';
export { bedrockError } from './bedrockErrors.ts';
export { ANSWER_TOOL, converseInput, converseTurn } from './converse.ts';
export type { ConverseState, ToolChoiceMode } from './converse.ts';
