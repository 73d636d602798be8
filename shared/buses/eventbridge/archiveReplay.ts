import { DescribeArchiveCommand, DescribeReplayCommand, EventBridgeClient, StartReplayCommand, type EventBridgeClientConfig } from '@aws-sdk/client-eventbridge';
import { awsSourceError, SourceRequestError } from '../sqs/awsSourceErrors.ts';

/** What `mesh replay --source archive:…` asks for. */
export interface ArchiveReplayRequest {
  /** The archive's ARN or name. */
  archive: string;
  since: Date;
  until: Date;
  /** The bus to replay to (its ARN); default the bus the archive records. */
  destination?: string;
  /** Replay only to these rules (ARNs) of the destination bus. */
  rules?: string[];
  /** Who asked, kept in the replay's description in AWS. */
  actor: string;
  /** Default `mesh-<archive>-<UTC time>-<random>` (see replayName). */
  name?: string;
}

/** The StartReplay request, in the API's own field names (printed by a dry run). */
export interface StartReplayInput {
  ReplayName: string;
  Description: string;
  EventSourceArn: string;
  EventStartTime: Date;
  EventEndTime: Date;
  Destination: { Arn: string; FilterArns?: string[] };
}

export type ReplayState = 'STARTING' | 'RUNNING' | 'CANCELLING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';

export interface ArchiveReplayStatus {
  name: string;
  arn?: string;
  state: ReplayState | string;
  reason?: string;
  /** The time of the last event replayed so far: progress through the window. */
  lastReplayed?: string;
  startedAt?: string;
  endedAt?: string;
}

const TERMINAL = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);

/**
 * EventBridge archive replays: plan a StartReplay for a time window, start it, and follow
 * DescribeReplay to the end. The replayed events go back to the bus in AWS; the mesh does not
 * process them itself. The client reads AWS_REGION, AWS_ENDPOINT_URL_EVENTBRIDGE and the
 * credential chain.
 *
 * @example
 * const replays = new ArchiveReplays();
 * const input = await replays.plan({ archive: 'orders-archive', since, until, actor: 'ana' });
 * await replays.start(input);
 * const end = await replays.follow(input.ReplayName, { intervalMs: 5000, onProgress: console.log });
 */
export class ArchiveReplays {
  private readonly client: EventBridgeClient;

  constructor(options: { client?: EventBridgeClientConfig; region?: string } = {}) {
    const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? options.region;
    this.client = new EventBridgeClient({ ...(region ? { region } : {}), maxAttempts: 3, ...options.client });
  }

  /** The StartReplay request for `request`; asks DescribeArchive only when a name or the bus is missing. */
  async plan(request: ArchiveReplayRequest): Promise<StartReplayInput> {
    if (!(request.since.getTime() < request.until.getTime())) {
      throw new SourceRequestError(`the replay window is empty: --since ${request.since.toISOString()} is not before --until ${request.until.toISOString()}`);
    }
    const name = archiveName(request.archive);
    let archiveArn = isArn(request.archive) ? request.archive : undefined;
    let busArn = request.destination;
    if (archiveArn === undefined || busArn === undefined) {
      const archive = await this.call('events:DescribeArchive', name, () => this.client.send(new DescribeArchiveCommand({ ArchiveName: name })));
      archiveArn ??= archive.ArchiveArn;
      busArn ??= archive.EventSourceArn;
    }
    if (!archiveArn || !busArn) throw new SourceRequestError(`DescribeArchive did not say the ARN and bus of archive ${name}; pass the archive ARN and --destination <bus-arn>`);
    return {
      ReplayName: request.name ?? replayName(name, new Date()),
      Description: `mesh replay by ${request.actor}`.slice(0, 512),
      EventSourceArn: archiveArn,
      EventStartTime: request.since,
      EventEndTime: request.until,
      Destination: { Arn: busArn, ...(request.rules && request.rules.length > 0 ? { FilterArns: request.rules } : {}) },
    };
  }

  async start(input: StartReplayInput): Promise<ArchiveReplayStatus> {
    const out = await this.call('events:StartReplay', input.ReplayName, () => this.client.send(new StartReplayCommand(input)));
    return {
      name: input.ReplayName,
      ...(out.ReplayArn ? { arn: out.ReplayArn } : {}),
      state: out.State ?? 'STARTING',
      ...(out.StateReason ? { reason: out.StateReason } : {}),
      ...(out.ReplayStartTime ? { startedAt: out.ReplayStartTime.toISOString() } : {}),
    };
  }

  async describe(name: string): Promise<ArchiveReplayStatus> {
    const out = await this.call('events:DescribeReplay', name, () => this.client.send(new DescribeReplayCommand({ ReplayName: name })));
    return {
      name,
      ...(out.ReplayArn ? { arn: out.ReplayArn } : {}),
      state: out.State ?? 'STARTING',
      ...(out.StateReason ? { reason: out.StateReason } : {}),
      ...(out.EventLastReplayedTime ? { lastReplayed: out.EventLastReplayedTime.toISOString() } : {}),
      ...(out.ReplayStartTime ? { startedAt: out.ReplayStartTime.toISOString() } : {}),
      ...(out.ReplayEndTime ? { endedAt: out.ReplayEndTime.toISOString() } : {}),
    };
  }

  /** Poll DescribeReplay every `intervalMs` until the replay completes, fails or is cancelled. */
  async follow(name: string, { intervalMs, onProgress }: { intervalMs: number; onProgress?: (s: ArchiveReplayStatus) => void }): Promise<ArchiveReplayStatus> {
    for (;;) {
      const status = await this.describe(name);
      onProgress?.(status);
      if (TERMINAL.has(status.state)) return status;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  close(): void {
    this.client.destroy();
  }

  private async call<T>(permission: string, resource: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw awsSourceError(err, { service: 'EventBridge', resource, endpointVariable: 'AWS_ENDPOINT_URL_EVENTBRIDGE', permission });
    }
  }
}

/** The region an ARN names (`arn:aws:events:eu-west-1:…` → `eu-west-1`). */
export function arnRegion(arn: string): string | undefined {
  return isArn(arn) ? arn.split(':')[3] || undefined : undefined;
}

function isArn(s: string): boolean {
  return s.startsWith('arn:');
}

/** `arn:aws:events:us-east-1:123:archive/orders` → `orders`; a name stays itself. */
export function archiveName(nameOrArn: string): string {
  const i = nameOrArn.indexOf(':archive/');
  return i >= 0 ? nameOrArn.slice(i + ':archive/'.length) : nameOrArn;
}

/**
 * A replay name, unique per account and region, ≤ 64 of `[.-_A-Za-z0-9]`:
 * `mesh-<archive>-<UTC time to the millisecond>-<4 random hex>`. The random tail keeps two
 * replays started in the same millisecond (two engineers, or a quick retry) from colliding
 * with ResourceAlreadyExistsException.
 */
export function replayName(archive: string, now: Date, random: () => number = Math.random): string {
  const stamp = now.toISOString().replace(/[-:]/g, '');
  const tail = `${stamp}-${Math.floor(random() * 0x10000).toString(16).padStart(4, '0')}`;
  return `mesh-${archive.replace(/[^.\-_A-Za-z0-9]/g, '-').slice(0, 64 - 'mesh-'.length - tail.length - 1)}-${tail}`;
}
