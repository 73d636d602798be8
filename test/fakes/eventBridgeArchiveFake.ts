import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A wire-level fake of EventBridge archive replays for the real EventBridgeClient (AWS JSON
 * 1.1: `X-Amz-Target: AWSEvents.<Operation>`, `content-type: application/x-amz-json-1.1`,
 * timestamps as epoch seconds). DescribeArchive, StartReplay and DescribeReplay; each
 * DescribeReplay moves a replay one step along its scripted states.
 */

export interface ArchiveCall {
  operation: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary wire fields
  body: any;
}

/** One state a replay reports, in order; the last one stays. */
export interface ScriptedState {
  State: 'STARTING' | 'RUNNING' | 'CANCELLING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';
  StateReason?: string;
  /** Epoch seconds of the last event replayed so far. */
  EventLastReplayedTime?: number;
}

export interface EventBridgeArchiveFake {
  /** `http://127.0.0.1:<port>`: AWS_ENDPOINT_URL_EVENTBRIDGE. */
  url: string;
  calls: ArchiveCall[];
  /** Add an archive of `busArn`; returns the archive's ARN. */
  addArchive(name: string, busArn: string): string;
  /** The states the next replays go through (default STARTING → RUNNING → COMPLETED). */
  script(states: ScriptedState[]): void;
  close(): Promise<void>;
}

class Fault extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Start the fake on a free port.
 *
 * @example
 * const eb = await startEventBridgeArchiveFake();
 * eb.addArchive('orders-archive', 'arn:aws:events:us-east-1:000000000000:event-bus/orders');
 * eb.script([{ State: 'STARTING' }, { State: 'FAILED', StateReason: 'bus deleted' }]);
 */
export async function startEventBridgeArchiveFake(): Promise<EventBridgeArchiveFake> {
  const archives = new Map<string, { arn: string; busArn: string }>();
  const replays = new Map<string, { input: Record<string, unknown>; states: ScriptedState[]; step: number; started: number }>();
  const calls: ArchiveCall[] = [];
  let script: ScriptedState[] = [{ State: 'STARTING' }, { State: 'RUNNING' }, { State: 'COMPLETED' }];
  const server = createServer();

  const handlers: Record<string, (body: Record<string, unknown>) => unknown> = {
    DescribeArchive: (body) => {
      const a = archives.get(String(body.ArchiveName));
      if (!a) throw new Fault('ResourceNotFoundException', `Archive ${String(body.ArchiveName)} does not exist.`);
      return { ArchiveArn: a.arn, ArchiveName: body.ArchiveName, EventSourceArn: a.busArn, State: 'ENABLED' };
    },
    StartReplay: (body) => {
      const name = String(body.ReplayName);
      if (replays.has(name)) throw new Fault('ResourceAlreadyExistsException', `Replay ${name} already exists.`);
      if (![...archives.values()].some((a) => a.arn === body.EventSourceArn)) throw new Fault('ResourceNotFoundException', `Archive ${String(body.EventSourceArn)} does not exist.`);
      if (!(Number(body.EventStartTime) < Number(body.EventEndTime))) throw new Fault('InvalidEventPatternException', 'EventStartTime must be before EventEndTime.');
      replays.set(name, { input: body, states: script, step: 0, started: Math.floor(Date.now() / 1000) });
      return { ReplayArn: `arn:aws:events:us-east-1:000000000000:replay/${name}`, State: 'STARTING', ReplayStartTime: Math.floor(Date.now() / 1000) };
    },
    DescribeReplay: (body) => {
      const name = String(body.ReplayName);
      const r = replays.get(name);
      if (!r) throw new Fault('ResourceNotFoundException', `Replay ${name} does not exist.`);
      const s = r.states[Math.min(r.step, r.states.length - 1)]!;
      r.step++;
      const done = s.State === 'COMPLETED' || s.State === 'FAILED' || s.State === 'CANCELLED';
      return {
        ReplayName: name,
        ReplayArn: `arn:aws:events:us-east-1:000000000000:replay/${name}`,
        State: s.State,
        ...(s.StateReason ? { StateReason: s.StateReason } : {}),
        EventSourceArn: r.input.EventSourceArn,
        Destination: r.input.Destination,
        EventStartTime: r.input.EventStartTime,
        EventEndTime: r.input.EventEndTime,
        ...(s.EventLastReplayedTime ? { EventLastReplayedTime: s.EventLastReplayedTime } : {}),
        ReplayStartTime: r.started,
        ...(done ? { ReplayEndTime: Math.floor(Date.now() / 1000) } : {}),
      };
    },
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.replace(/^AWSEvents\./, '');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        body = {};
      }
      calls.push({ operation, body });
      const reply = (status: number, doc: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
        res.end(JSON.stringify(doc));
      };
      try {
        if (req.headers['content-type'] !== 'application/x-amz-json-1.1') throw new Fault('ValidationException', `expected content-type application/x-amz-json-1.1, got ${req.headers['content-type']}`);
        const handler = handlers[operation];
        if (!handler) throw new Fault('UnknownOperationException', `the fake does not speak ${target}`);
        reply(200, handler(body));
      } catch (err) {
        if (!(err instanceof Fault)) throw err;
        reply(400, { __type: err.type, message: err.message });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    addArchive(name, busArn) {
      const arn = `arn:aws:events:us-east-1:000000000000:archive/${name}`;
      archives.set(name, { arn, busArn });
      return arn;
    },
    script(states) {
      script = states;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
