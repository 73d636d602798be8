// The openai and azure-openai adapters (import the openai SDK and @azure/identity: load them through this door only when needed).
export { OpenAIProvider } from './OpenAIProvider.ts';
export type { OpenAIProviderOptions } from './OpenAIProvider.ts';
export { AzureOpenAIProvider, AZURE_COGNITIVE_SCOPE } from './AzureOpenAIProvider.ts';
export type { AzureOpenAIProviderOptions } from './AzureOpenAIProvider.ts';
export { ChatCompletionsProvider } from './ChatCompletionsProvider.ts';
export type { Connection } from './ChatCompletionsProvider.ts';
export { chatBody, chatTurn, filteredCategories, strictCompatible } from './chat.ts';
export { chatAgents, chatOverHttp } from './chatHttp.ts';
export type { ChatAgents, ChatCall, ChatEndpoint } from './chatHttp.ts';
export type { ChatSettings, ChatState, TokenLimitField } from './chat.ts';
export { openaiError } from './openaiErrors.ts';
