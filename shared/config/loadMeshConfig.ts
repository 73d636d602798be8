import { ConfigError } from '../core/errors.ts';
import type { Cloud, Destination, MeshConfig, ModelEndpoint, ProviderKind, ResidencyRule, Site } from '../core/catalogue.ts';
import type { PathSegment } from './describe.ts';
import { meshSchema, modelSchema, type MeshFile, type ModelEntry } from './meshSchema.ts';
import { DEFAULT_RETENTION } from './retention.ts';
import { reportSecrets } from './secrets.ts';
import { readYamlSource, type YamlSource } from './YamlSource.ts';
import { parseWith } from './zodIssues.ts';

/** The cloud a provider always runs in; `simulated` says which cloud it imitates. */
const IMPLIED_CLOUD: Partial<Record<ProviderKind, Cloud>> = { bedrock: 'aws', 'azure-openai': 'azure', openai: 'openai' };

const RESIDENCY: Record<string, ResidencyRule> = {
  anywhere: { cloud: 'any', geography: 'any', region: 'any' },
  'same-geography': { cloud: 'any', geography: 'same', region: 'any' },
  'same-cloud': { cloud: 'same', geography: 'any', region: 'any' },
  'same-region': { cloud: 'same', geography: 'same', region: 'same' },
};

const CREDENTIALS_HINT: Record<string, string> = {
  openai: 'set OPENAI_API_KEY in the environment',
  'azure-openai': 'set AZURE_OPENAI_API_KEY in the environment, or better, use a managed identity',
  bedrock: 'let the AWS SDK find credentials (IAM role, AWS_PROFILE)',
};

/**
 * Load and validate `mesh.yaml`: the model catalogue, residency policy, sources, sites and
 * destinations. Every problem is collected and thrown as one ConfigError.
 *
 * @example
 * const config = await loadMeshConfig('mesh.yaml');
 * config.models.map((m) => m.id) // ['sim-bedrock-us-east-1', …]
 * @throws ConfigError naming file, path, line and what was expected.
 */
export async function loadMeshConfig(file: string): Promise<MeshConfig> {
  const source = await readYamlSource(file, 'create mesh.yaml or pass --config <file>');
  if (source.data === null || typeof source.data !== 'object' || Array.isArray(source.data)) {
    source.report([], 'expected a mapping with models, residency, sources, sites and destinations');
    throw new ConfigError(source.issuesInOrder());
  }
  const secrets = reportSecrets(source, { hint: (path) => credentialsHint(source, path) });
  const parsed = parseWith(meshSchema, source, source.data, secrets);
  if (parsed === undefined) {
    // Still check the entries that are well formed, so one run reports everything it can.
    checkModels(source.data as Record<string, unknown>, source);
    throw new ConfigError(source.issuesInOrder());
  }
  const config = normalize(parsed, file, source);
  if (source.issues.length > 0) throw new ConfigError(source.issuesInOrder());
  return config;
}

function credentialsHint(source: YamlSource, path: readonly PathSegment[]): string {
  const [top, index] = path;
  const models = (source.data as { models?: unknown }).models;
  if (top === 'models' && typeof index === 'number' && Array.isArray(models)) {
    const provider = (models[index] as { provider?: unknown } | undefined)?.provider;
    if (typeof provider === 'string' && CREDENTIALS_HINT[provider]) return CREDENTIALS_HINT[provider];
  }
  return 'set it in the environment (e.g. OPENAI_API_KEY) or use the platform identity (IAM role, managed identity)';
}

function normalize(file: MeshFile, path: string, source: YamlSource): MeshConfig {
  const models = checkModels(file, source);

  const residency = Object.fromEntries(Object.entries(file.residency).map(([k, rule]) => [k, typeof rule === 'string' ? { ...RESIDENCY[rule] } as ResidencyRule : rule]));
  const sites = Object.fromEntries(Object.entries(file.sites).map(([name, s]): [string, Site] => [name, { name, ...s }]));
  const destinations = Object.fromEntries(Object.entries(file.destinations).map(([name, d]): [string, Destination] => [name, { name, ...d }]));
  const retention = {
    eventsMs: file.retention?.events ?? DEFAULT_RETENTION.eventsMs,
    resolvedFailuresMs: file.retention?.resolvedFailures ?? DEFAULT_RETENTION.resolvedFailuresMs,
    auditMs: file.retention?.audit ?? DEFAULT_RETENTION.auditMs,
  };
  return { file: path, seed: file.seed, models, residency, sources: file.sources, sites, destinations, placement: file.placement, retention, ...(file.approvals ? { approvals: file.approvals } : {}) };
}

/** Cross-field checks of every model entry that has the right shape (all of them, once parsed). */
function checkModels(raw: { models?: unknown; residency?: unknown }, source: YamlSource): ModelEndpoint[] {
  const seen = new Map<string, number>();
  const models: ModelEndpoint[] = [];
  (Array.isArray(raw.models) ? (raw.models as unknown[]) : []).forEach((item, i) => {
    const entry = modelSchema.safeParse(item);
    if (!entry.success) return;
    const first = seen.get(entry.data.id);
    if (first !== undefined) source.report(['models', i, 'id'], `duplicate model id "${entry.data.id}" (first used by models[${first}])`);
    else seen.set(entry.data.id, i);
    models.push(normalizeModel(entry.data, ['models', i], source));
  });
  if (raw.residency !== null && typeof raw.residency === 'object' && Object.keys(raw.residency).length === 0) {
    source.report(['residency'], 'expected at least one classification, e.g. public: anywhere');
  }
  return models;
}

function normalizeModel(entry: ModelEntry, at: PathSegment[], source: YamlSource): ModelEndpoint {
  const implied = IMPLIED_CLOUD[entry.provider];
  if (entry.provider === 'simulated' && entry.cloud === undefined) {
    source.report([...at, 'cloud'], `missing: a simulated endpoint must say which cloud it imitates (expected one of aws | azure | onprem | openai)`);
  } else if (entry.provider === 'openai' && entry.cloud === 'onprem') {
    // An OpenAI-compatible server of our own (Ollama, vLLM, llama.cpp) is an on-prem endpoint at a site.
    if (typeof entry.options.baseURL !== 'string') {
      source.report([...at, 'options'], 'missing: an on-prem OpenAI-compatible endpoint needs options.baseURL (e.g. http://gpu01.fra-dc1:11434/v1)');
    }
  } else if (implied !== undefined && entry.cloud !== undefined && entry.cloud !== implied) {
    const onprem = entry.provider === 'openai' ? ', or onprem for an OpenAI-compatible server with options.baseURL' : '';
    source.report([...at, 'cloud'], `expected "${implied}" (provider ${entry.provider} always runs there${onprem}) or no cloud at all, got "${entry.cloud}"`);
  }
  if (entry.scope !== 'global' && entry.region === undefined) {
    source.report([...at, 'region'], `missing: expected a region for scope ${entry.scope} (only scope global may omit it)`);
  }
  if (entry.simulated !== undefined && entry.provider !== 'simulated') {
    source.report([...at, 'simulated'], `only allowed with provider simulated, got provider ${entry.provider}`, 'key');
  }
  const sim = entry.provider === 'simulated' ? (entry.simulated ?? { latencyMs: [40, 120], faults: { throttle: 0, error: 0, timeout: 0, malformed: 0 }, retryAfterMs: 200 }) : undefined;
  const latency = sim === undefined ? undefined : typeof sim.latencyMs === 'number' ? { min: sim.latencyMs, max: sim.latencyMs } : { min: sim.latencyMs[0], max: sim.latencyMs[1] };
  if (sim && latency && latency.min > latency.max) {
    source.report([...at, 'simulated', 'latencyMs'], `expected [min, max] with min <= max, got [${latency.min}, ${latency.max}]`);
  }
  if (sim) {
    const sum = Object.values(sim.faults).reduce((a, b) => a + b, 0);
    if (sum > 1 + 1e-9) source.report([...at, 'simulated', 'faults'], `expected fault probabilities that sum to at most 1, got ${Number(sum.toFixed(6))}`);
  }
  const endpoint: ModelEndpoint = {
    id: entry.id,
    provider: entry.provider,
    cloud: entry.cloud ?? implied ?? 'aws',
    scope: entry.scope,
    model: entry.model ?? entry.id,
    price: entry.price,
    capabilities: entry.capabilities,
    options: entry.options,
  };
  if (entry.region !== undefined) endpoint.region = entry.region;
  if (entry.limits !== undefined) {
    endpoint.limits = { ...(entry.limits.rpm === undefined ? {} : { rpm: entry.limits.rpm }), ...(entry.limits.tpm === undefined ? {} : { tpm: entry.limits.tpm }) };
  }
  if (sim && latency) endpoint.simulated = { latencyMs: latency, faults: sim.faults, retryAfterMs: sim.retryAfterMs };
  return endpoint;
}
