import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A wire-level fake of SSM Parameter Store's GetParameter for the real SSMClient: AWS JSON 1.1
 * (`X-Amz-Target: AmazonSSM.GetParameter`), errors as `__type`. Parameters are set by the test;
 * every call is recorded.
 */

export interface SsmFake {
  /** `http://127.0.0.1:<port>`: AWS_ENDPOINT_URL_SSM or the client's `endpoint`. */
  url: string;
  calls: Array<{ target: string; body: Record<string, unknown> }>;
  put(name: string, value: string): void;
  close(): Promise<void>;
}

export async function startSsmFake(): Promise<SsmFake> {
  const params = new Map<string, string>();
  const calls: SsmFake['calls'] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = JSON.parse(text || '{}') as Record<string, unknown>;
      calls.push({ target, body });
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(payload));
      };
      if (target !== 'AmazonSSM.GetParameter') return send(400, { __type: 'InvalidAction', message: `fake speaks GetParameter only, not ${target}` });
      const name = String(body.Name);
      const value = params.get(name);
      if (value === undefined) return send(400, { __type: 'ParameterNotFound', message: `Parameter ${name} not found.` });
      send(200, { Parameter: { Name: name, Type: 'SecureString', Value: body.WithDecryption === true ? value : 'AQICAH-encrypted', Version: 1 } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    put: (name, value) => void params.set(name, value),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
