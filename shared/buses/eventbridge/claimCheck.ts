import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { PublishFailedError, PublishRejectedError, type ClaimCheck, type MeshError } from '../../core/index.ts';
import { errorSummary, redact } from '../../models/redact.ts';

/** Where a claim-checked result's detail was stored, as the small event that replaces it says. */
export interface ClaimCheckReference {
  uri: string;
  bucket: string;
  key: string;
  region?: string;
  /** Size of the stored JSON in bytes, and its SHA-256 (hex), so a reader can verify what it fetched. */
  bytes: number;
  sha256: string;
  contenttype: 'application/json';
}

/** Stores a result's detail where the event's reader can fetch it. */
export interface ClaimCheckStore {
  put(target: ClaimCheck, key: string, body: string, resultId: string): Promise<void>;
  close?(): void;
}

/**
 * The key of a result's detail: `<prefix><result id>.json`. Result ids are deterministic, so a
 * retried publish writes the same object again instead of leaving a second copy.
 */
export function claimCheckKey(target: ClaimCheck, resultId: string): string {
  return `${target.prefix ?? ''}${resultId}.json`;
}

/**
 * The detail that goes on the bus instead of one too large for an entry: where the whole
 * detail is, plus the result's provenance and lineage (small, and what downstream rules,
 * deduplication and audits read).
 */
export function claimCheckDetail(detail: unknown, reference: ClaimCheckReference): Record<string, unknown> {
  const d = detail !== null && typeof detail === 'object' ? (detail as { provenance?: unknown; lineage?: unknown }) : {};
  return { claimcheck: reference, ...(d.provenance === undefined ? {} : { provenance: d.provenance }), ...(d.lineage === undefined ? {} : { lineage: d.lineage }) };
}

export function claimCheckReference(target: ClaimCheck, key: string, body: string): ClaimCheckReference {
  return {
    uri: `s3://${target.bucket}/${key}`,
    bucket: target.bucket,
    key,
    ...(target.region ? { region: target.region } : {}),
    bytes: Buffer.byteLength(body, 'utf8'),
    sha256: createHash('sha256').update(body, 'utf8').digest('hex'),
    contenttype: 'application/json',
  };
}

/**
 * S3 as the claim-check store: PutObject with the detail as JSON. The SDK is loaded on the
 * first oversized result only (most deployments never have one). The client reads the
 * credential chain and AWS_ENDPOINT_URL_S3 like any other; the bucket's default encryption
 * applies.
 */
export class S3ClaimCheckStore implements ClaimCheckStore {
  private readonly clients = new Map<string, Promise<S3Client>>();

  constructor(private readonly opts: { client?: (region: string | undefined) => S3Client } = {}) {}

  async put(target: ClaimCheck, key: string, body: string, resultId: string): Promise<void> {
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    const client = await this.client(target.region);
    try {
      await client.send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: body, ContentType: 'application/json', Metadata: { 'mesh-result-id': resultId } }));
    } catch (err) {
      throw s3Error(err, target, key);
    }
  }

  close(): void {
    for (const c of this.clients.values()) void c.then((client) => client.destroy());
    this.clients.clear();
  }

  private client(region: string | undefined): Promise<S3Client> {
    const cacheKey = region ?? '';
    let client = this.clients.get(cacheKey);
    if (!client) {
      // A custom endpoint (LocalStack, MinIO) takes path-style addressing; AWS takes either.
      const pathStyle = Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
      client = this.opts.client
        ? Promise.resolve(this.opts.client(region))
        : import('@aws-sdk/client-s3').then(({ S3Client }) => new S3Client({ ...(region ? { region } : {}), ...(pathStyle ? { forcePathStyle: true } : {}) }));
      this.clients.set(cacheKey, client);
    }
    return client;
  }
}

/** Access and missing buckets will not fix themselves; throttling and 5xx may. */
function s3Error(err: unknown, target: ClaimCheck, key: string): MeshError {
  const e = (err ?? {}) as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const where = `s3://${target.bucket}/${key}`;
  const said = redact(`${e.name ?? 'Error'}: ${e.message ?? String(err)}`);
  // A summary, not the SDK error: that one holds the response and its headers.
  const options = { cause: errorSummary(err), context: { bucket: target.bucket, key, ...(status === undefined ? {} : { status }) } };
  if (e.name === 'NoSuchBucket' || status === 404) return new PublishRejectedError(`claim check: bucket ${target.bucket} does not exist (${where}); create it or fix claimCheck.bucket in mesh.yaml`, options);
  if (e.name === 'AccessDenied' || status === 403) return new PublishRejectedError(`claim check: access denied writing ${where}; the function needs s3:PutObject on it`, options);
  if (status !== undefined && status >= 400 && status < 500 && status !== 429 && !/SlowDown|Throttl/i.test(e.name ?? '')) {
    return new PublishRejectedError(`claim check: S3 refused ${where}: ${said}`, options);
  }
  return new PublishFailedError(`claim check: writing ${where} failed: ${said}`, options);
}
