import type { PathSegment } from './describe.ts';
import type { YamlSource } from './YamlSource.ts';

/*
 * Secrets never live in mesh.yaml or route files: those files are committed, reviewed and
 * printed by `mesh validate`. A key that looks like a credential is rejected wherever it
 * appears — except under a route's `match` and `task.output`, whose keys name fields of events
 * and of model answers (a pattern may well test that `detail.token` does not exist).
 */

const EXACT = new Set(['apikey', 'secret', 'password', 'passwd', 'pwd', 'token', 'connectionstring', 'credentials', 'privatekey', 'sastoken']);
const SUFFIXES = ['apikey', 'secret', 'password', 'connectionstring', 'accesstoken', 'authtoken', 'bearertoken', 'sastoken', 'privatekey', 'secretkey'];

/** True for keys such as `apiKey`, `api_key`, `clientSecret`, `password`, `connectionString`, `accessKeyId`, `token`. */
export function looksLikeSecret(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_\s]/g, '');
  return EXACT.has(k) || k.startsWith('accesskey') || SUFFIXES.some((s) => k.endsWith(s));
}

export interface SecretScanOptions {
  /** Top-level paths whose keys are data field names, not settings (e.g. `match`). */
  exempt?: readonly (readonly PathSegment[])[];
  /** How this key's secret should be supplied instead, e.g. `set OPENAI_API_KEY in the environment`. */
  hint?: (path: readonly PathSegment[]) => string;
}

/**
 * Report every secret-looking key in `source`. Returns the reported paths (JSON-encoded) so the
 * schema check does not report the same key a second time as "unknown".
 */
export function reportSecrets(source: YamlSource, options: SecretScanOptions = {}): Set<string> {
  const found = new Set<string>();
  const exempt = (options.exempt ?? []).map((p) => JSON.stringify(p));
  const visit = (node: unknown, path: PathSegment[]) => {
    if (exempt.includes(JSON.stringify(path))) return;
    if (Array.isArray(node)) return node.forEach((item, i) => visit(item, [...path, i]));
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      const at = [...path, key];
      if (looksLikeSecret(key)) {
        found.add(JSON.stringify(at));
        const hint = options.hint?.(at) ?? 'set it in the environment (e.g. OPENAI_API_KEY) or use the platform identity (IAM role, managed identity)';
        source.report(at, `"${key}" looks like a secret, and secrets never live in config: remove it and ${hint}`, 'key');
      } else {
        visit(value, at);
      }
    }
  };
  visit(source.data, []);
  return found;
}
