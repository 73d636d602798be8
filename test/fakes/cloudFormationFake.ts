import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A wire-level fake of CloudFormation's DescribeStacks for the real CloudFormationClient, which
 * speaks the AWS Query protocol: a form-encoded POST (`Action=DescribeStacks&StackName=…`)
 * answered in XML, errors as `<ErrorResponse><Error><Code>…`. A stack it does not know is a
 * ValidationError "Stack with id … does not exist", as the service answers.
 */

export interface CloudFormationFake {
  /** `http://127.0.0.1:<port>`: AWS_ENDPOINT_URL_CLOUDFORMATION. */
  url: string;
  calls: Array<Record<string, string>>;
  /** Deploy a stack with these outputs, in `region`. */
  putStack(name: string, outputs: Record<string, string>, region?: string): void;
  close(): Promise<void>;
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export async function startCloudFormationFake(): Promise<CloudFormationFake> {
  const stacks = new Map<string, { outputs: Record<string, string>; region: string }>();
  const calls: Array<Record<string, string>> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(body));
      calls.push(form);
      res.setHeader('content-type', 'text/xml');
      const name = form.StackName ?? '';
      const stack = stacks.get(name);
      if (form.Action !== 'DescribeStacks' || !stack) {
        res.statusCode = 400;
        const [code, message] = form.Action !== 'DescribeStacks' ? ['InvalidAction', `${form.Action} is not faked`] : ['ValidationError', `Stack with id ${name} does not exist`];
        return res.end(`<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message!)}</Message></Error><RequestId>req-fake</RequestId></ErrorResponse>`);
      }
      const outputs = Object.entries(stack.outputs)
        .map(([k, v]) => `<member><OutputKey>${xml(k)}</OutputKey><OutputValue>${xml(v)}</OutputValue></member>`)
        .join('');
      res.end(
        `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>` +
          `<StackName>${xml(name)}</StackName><StackId>arn:aws:cloudformation:${stack.region}:000000000000:stack/${xml(name)}/00000000-0000-4000-8000-000000000000</StackId>` +
          `<StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-11-01T00:00:00Z</CreationTime><Outputs>${outputs}</Outputs>` +
          `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>req-fake</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    putStack: (name, outputs, region = 'us-east-1') => void stacks.set(name, { outputs, region }),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
