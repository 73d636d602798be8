import { describe, expect, it } from 'vitest';
import { errorSummary, redact } from '../../../shared/models/redact.ts';

// Credentials a provider or a bus may echo back, in the shapes they come in.
const SESSION_TOKEN =
  'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDx5kZ0uY3Zb1Yb8aGcV0u3n1n6Zq+P9yKXq9w5nS0b2AIgXq2o1Vv8mK3sQ2hYh0z7E4vXbGf0nA==';

describe('redact', () => {
  it.each([
    ['an OpenAI project key', 'req-sk-proj-AbCdEf0123456789_xyz', 'sk-proj-AbCdEf0123456789_xyz'],
    ['an OpenAI key after an underscore', 'id_sk-abcdefgh12345678', 'sk-abcdefgh12345678'],
    ['an AWS access key id', 'key AKIAIOSFODNN7EXAMPLE used', 'AKIAIOSFODNN7EXAMPLE'],
    ['a temporary AWS access key id', 'key ASIAIOSFODNN7EXAMPLE used', 'ASIAIOSFODNN7EXAMPLE'],
    ['an AWS session token', `token ${SESSION_TOKEN} expired`, SESSION_TOKEN],
    ['an AWS secret access key', 'secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY here', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    ['a bearer token', 'Authorization: Bearer eyJhbGciOi.abc.def-123', 'eyJhbGciOi.abc.def-123'],
    ['a SAS signature', 'https://acct.blob.core.windows.net/c?sv=2024&sig=AbC%2Bde%2Ffg0123456789%3D&se=2026', 'AbC%2Bde%2Ffg0123456789%3D'],
    ['a Service Bus connection string key', 'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA=;EntityPath=q', 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA='],
    ['a storage account key', 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0c2VjcmV0c2VjcmV0;EndpointSuffix=x', 'c2VjcmV0c2VjcmV0c2VjcmV0'],
    ['an api-key header', 'headers: api-key: 0123456789abcdef0123456789abcdef', '0123456789abcdef0123456789abcdef'],
  ])('removes %s', (_what, text, secret) => {
    const out = redact(text);
    expect(out).not.toContain(secret);
    expect(out).toContain('***');
  });

  it('keeps what an engineer needs: request ids, event ids, ARNs and git-style hashes stay readable', () => {
    const text =
      'req 7f1c2d3e-0a1b-4c5d-9e8f-0123456789ab for arn:aws:events:us-east-1:123456789012:event-bus/orders at commit 0123456789abcdef0123456789abcdef01234567';
    expect(redact(text)).toBe(text);
  });

  it('removes the known secrets it is given, longest first', () => {
    expect(redact('key=hunter2hunter2 and hunter2', ['hunter2', 'hunter2hunter2'])).toBe('key=*** and ***');
  });
});

describe('errorSummary', () => {
  it('keeps the name, code, status and a redacted message of an SDK error, and nothing else', () => {
    const sdk = Object.assign(new Error(`denied for ${SESSION_TOKEN}`), {
      name: 'AccessDeniedException',
      Code: 'AccessDenied',
      $metadata: { httpStatusCode: 403, requestId: 'sk-proj-AbCdEf0123456789_xyz' },
      $response: { headers: { 'x-amz-security-token': SESSION_TOKEN } },
    });

    const summary = errorSummary(sdk);

    expect(summary).toBeInstanceOf(Error);
    expect(summary).toMatchObject({ name: 'AccessDeniedException', code: 'AccessDenied', statusCode: 403 });
    const seen = JSON.stringify(summary) + String(summary) + (summary.stack ?? '') + JSON.stringify(Object.entries(summary));
    expect(seen).not.toContain(SESSION_TOKEN);
    expect(seen).not.toContain('sk-proj-AbCdEf0123456789_xyz');
    expect(summary).not.toHaveProperty('$response');
    expect((summary as Error).cause).toBeUndefined();
  });
});
