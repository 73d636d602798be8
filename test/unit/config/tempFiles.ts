import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { ConfigError, type ConfigIssue } from '../../../shared/core/errors.ts';

/** Write `files` (relative path → text) under a fresh temporary directory; returns the directory. */
export async function tempTree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'mesh-config-'));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), text);
  }
  return root;
}

/** The issues of the ConfigError that `promise` rejects with (fails the test if it resolves). */
export async function configIssues(promise: Promise<unknown>): Promise<ConfigIssue[]> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).issues;
}

/** A minimal valid mesh.yaml that tests extend. */
export const MINIMAL_MESH = `models:
  - id: sim-a
    provider: simulated
    cloud: aws
    region: us-east-1
residency:
  public: anywhere
  pii: same-region
destinations:
  local: { kind: local }
`;

/** A minimal valid route file for id `r1` against MINIMAL_MESH. */
export const MINIMAL_ROUTE = `id: r1
match:
  source: [com.acme.orders]
data:
  classification: public
task:
  prompt: "Order {{detail.orderId}}"
  output:
    type: object
    properties:
      score: { type: integer, minimum: 0, maximum: 100 }
    required: [score]
  maxTokens: 100
emit:
  source: nearmesh.r1
  detailType: Scored
`;
