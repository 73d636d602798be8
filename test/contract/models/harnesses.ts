import type { ModelEndpoint, ModelProvider, ModelRequest } from '../../../shared/core/index.ts';
import { BedrockProvider } from '../../../shared/models/bedrock/index.ts';
import { SimulatedProvider } from '../../../shared/models/index.ts';
import { AzureOpenAIProvider, OpenAIProvider } from '../../../shared/models/openai/index.ts';
import { bedrockError, bedrockTextAnswer, bedrockToolAnswer, startBedrockFake, type BedrockFake, type FakeReply } from '../../fakes/bedrockFake.ts';
import { azurePromptFiltered, openaiAnswer, openaiError, startOpenAIFake, type OpenAIFake } from '../../fakes/openaiFake.ts';

/*
 * One harness per provider adapter: the adapter wired to its wire-level fake through the
 * real SDK client, and a script vocabulary the contract speaks ("answer this", "throttle
 * with Retry-After 2 s"). The simulated provider has no wire; it scripts by fault settings.
 */

export type Capability = 'scripted-answers' | 'repair' | 'rejects' | 'auth' | 'content-filter';

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface Harness {
  name: string;
  can: ReadonlySet<Capability>;
  /** Every secret the adapter holds; none may appear in any error. */
  secrets: string[];
  start(): Promise<void>;
  stop(): Promise<void>;
  provider(): ModelProvider;
  endpoint(): ModelEndpoint;
  /** Calls that reached the service. */
  calls(): number;
  /** The last request body as text, to look for what the adapter sent. */
  lastBody(): string;
  /** The schema the adapter put where the provider's structured-output mechanism reads it. */
  sentSchema(): unknown;
  answer(output: unknown, usage?: Usage): void;
  /** An answer that is not JSON at all. */
  prose(text: string): void;
  throttle(retryAfterSeconds: number): void;
  unavailable(): void;
  reject(): void;
  denyAuth(): void;
  hang(ms: number): void;
  contentFilter(): void;
}

export const schema = {
  type: 'object',
  properties: {
    score: { type: 'integer', minimum: 0, maximum: 100 },
    reasons: { type: 'array', items: { type: 'string' } },
  },
  required: ['score', 'reasons'],
  additionalProperties: false,
} as const satisfies Record<string, unknown>;

export function request(endpoint: ModelEndpoint, overrides: Partial<ModelRequest> = {}): ModelRequest {
  return {
    endpoint,
    system: 'You score orders for fraud risk.',
    prompt: 'Score order "A-1": total 120 USD, new customer.',
    outputSchema: schema,
    maxTokens: 256,
    temperature: 0,
    routeId: 'order-risk',
    eventId: 'evt-1',
    attempt: 1,
    ...overrides,
  };
}

function endpointOf(id: string, provider: ModelEndpoint['provider'], model: string, options: Record<string, unknown>, cloud: ModelEndpoint['cloud']): ModelEndpoint {
  return { id, provider, cloud, region: 'eu-central-1', scope: 'region', model, price: { input: 1, output: 2 }, capabilities: ['json'], options };
}

/** An error body that echoes the credentials the request carried, as a careless proxy might. */
function echoing(build: (credentials: string) => FakeReply, header: (h: Record<string, string>) => string | undefined) {
  return (req: { headers: Record<string, string> }) => build(header(req.headers) ?? '');
}

export const BEDROCK_SECRET = 'bedrockSecretAccessKey/0123456789abcdefXYZ';
const BEDROCK_KEY_ID = 'AKIAFAKEFAKEFAKE1234';

export function bedrockHarness(): Harness {
  let fake: BedrockFake;
  let provider: BedrockProvider;
  const auth = (h: Record<string, string>) => h.authorization;
  return {
    name: 'bedrock',
    can: new Set(['scripted-answers', 'repair', 'rejects', 'auth', 'content-filter']),
    secrets: [BEDROCK_SECRET, BEDROCK_KEY_ID],
    async start() {
      fake = await startBedrockFake();
      provider = new BedrockProvider({
        credentials: { accessKeyId: BEDROCK_KEY_ID, secretAccessKey: BEDROCK_SECRET },
        env: { AWS_SECRET_ACCESS_KEY: BEDROCK_SECRET },
      });
    },
    async stop() {
      provider.close();
      await fake.close();
    },
    provider: () => provider,
    endpoint: () => endpointOf('bedrock-eu', 'bedrock', 'eu.anthropic.claude-3-haiku-20240307-v1:0', { endpoint: fake.url }, 'aws'),
    calls: () => fake.requests.length,
    lastBody: () => JSON.stringify(fake.requests.at(-1)?.body),
    sentSchema: () => fake.requests.at(-1)?.body.toolConfig.tools[0].toolSpec.inputSchema.json,
    answer: (output, usage) => fake.reply(bedrockToolAnswer(output, usage)),
    prose: (text) => fake.reply(bedrockTextAnswer(text)),
    throttle: (s) => fake.reply(echoing((c) => bedrockError(429, 'ThrottlingException', `Too many requests (${c})`, { 'retry-after': String(s) }), auth)),
    unavailable: () => fake.reply(echoing((c) => bedrockError(503, 'ServiceUnavailableException', `Service unavailable (${c})`), auth)),
    reject: () => fake.reply(echoing((c) => bedrockError(400, 'ValidationException', `Malformed input request (${c})`), auth)),
    denyAuth: () => fake.reply(echoing((c) => bedrockError(403, 'AccessDeniedException', `User is not authorized; request carried ${c}`), auth)),
    hang: (ms) => fake.reply({ ...bedrockToolAnswer({ score: 1, reasons: [] }), delayMs: ms }),
    contentFilter: () => fake.reply(bedrockTextAnswer('Sorry, the model cannot answer this.', undefined, 'guardrail_intervened')),
  };
}

export const OPENAI_SECRET = 'sk-proj-SECRET0123456789abcdefghij';
export const AZURE_SECRET = 'azureSECRETkey0123456789abcdefABCDEF';

function chatHarness(name: string, make: (fake: OpenAIFake) => { provider: ModelProvider; endpoint: ModelEndpoint }, secret: string, can: Capability[]): Harness {
  let fake: OpenAIFake;
  let made: { provider: ModelProvider; endpoint: ModelEndpoint };
  const auth = (h: Record<string, string>) => h['api-key'] ?? h.authorization;
  return {
    name,
    can: new Set(['scripted-answers', 'repair', 'rejects', 'auth', ...can]),
    secrets: [secret],
    async start() {
      fake = await startOpenAIFake();
      made = make(fake);
    },
    stop: () => fake.close(),
    provider: () => made.provider,
    endpoint: () => made.endpoint,
    calls: () => fake.requests.length,
    lastBody: () => JSON.stringify(fake.requests.at(-1)?.body),
    sentSchema: () => fake.requests.at(-1)?.body.response_format.json_schema.schema,
    answer: (output, usage) => fake.reply(openaiAnswer(output, usage)),
    prose: (text) => fake.reply(openaiAnswer(text)),
    throttle: (s) => fake.reply(echoing((c) => openaiError(429, { message: `Rate limit reached (${c})`, type: 'requests', code: 'rate_limit_exceeded' }, { 'retry-after': String(s) }), auth)),
    unavailable: () => fake.reply(echoing((c) => openaiError(503, { message: `The server is overloaded (${c})`, type: 'server_error' }), auth)),
    reject: () => fake.reply(echoing((c) => openaiError(400, { message: `Invalid schema for response_format (${c})`, type: 'invalid_request_error', code: 'invalid_request' }), auth)),
    denyAuth: () => fake.reply(echoing((c) => openaiError(401, { message: `Incorrect API key provided: ${c}`, type: 'invalid_request_error', code: 'invalid_api_key' }), auth)),
    hang: (ms) => fake.reply({ ...openaiAnswer({ score: 1, reasons: [] }), delayMs: ms }),
    contentFilter: () => fake.reply(azurePromptFiltered('violence')),
  };
}

export function openaiHarness(): Harness {
  return chatHarness(
    'openai',
    (fake) => ({
      provider: new OpenAIProvider({ env: { OPENAI_API_KEY: OPENAI_SECRET, OPENAI_BASE_URL: `${fake.url}/v1` } }),
      endpoint: { ...endpointOf('openai-global', 'openai', 'gpt-4.1-mini', {}, 'openai'), scope: 'global' },
    }),
    OPENAI_SECRET,
    [],
  );
}

export function azureHarness(apiVersion: 'v1' | '2024-10-21'): Harness {
  return chatHarness(
    `azure-openai (${apiVersion === 'v1' ? 'v1 base URL' : `api-version ${apiVersion}`})`,
    (fake) => ({
      provider: new AzureOpenAIProvider({ env: { AZURE_OPENAI_API_KEY: AZURE_SECRET, AZURE_OPENAI_ENDPOINT: fake.url } }),
      endpoint: endpointOf('azure-weu', 'azure-openai', 'gpt-4.1-mini', { deployment: 'risk-scorer', apiVersion }, 'azure'),
    }),
    AZURE_SECRET,
    ['content-filter'],
  );
}

/** The simulated provider: no wire, so it is scripted through its fault settings. */
export function simulatedHarness(): Harness {
  let faults = { throttle: 0, error: 0, timeout: 0, malformed: 0 };
  let retryAfterMs = 200;
  let provider: SimulatedProvider;
  const none = () => {
    throw new Error('the simulated provider has no wire');
  };
  return {
    name: 'simulated',
    can: new Set(),
    secrets: [],
    async start() {
      provider = new SimulatedProvider({ seed: 7 });
      faults = { throttle: 0, error: 0, timeout: 0, malformed: 0 };
    },
    async stop() {},
    provider: () => provider,
    endpoint: () => ({ ...endpointOf('sim', 'simulated', 'sim-model', {}, 'aws'), simulated: { latencyMs: { min: 1, max: 3 }, faults, retryAfterMs } }),
    calls: none,
    lastBody: none,
    sentSchema: none,
    answer: () => {},
    prose: none,
    throttle: (s) => {
      faults = { ...faults, throttle: 1 };
      retryAfterMs = s * 1000;
    },
    unavailable: () => void (faults = { ...faults, error: 1 }),
    reject: none,
    denyAuth: none,
    hang: () => void (faults = { ...faults, timeout: 1 }),
    contentFilter: none,
  };
}
