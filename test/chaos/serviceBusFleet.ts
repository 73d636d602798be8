import { ServiceBusClient } from '@azure/service-bus';
import type { HostIsolation } from '../fakes/faults.ts';
import { installFunctionsCore, startServiceBusFunctionsHost, type InvocationReport, type RegisteredFunction, type ServiceBusFunctionsHost } from '../fakes/functionsHost.ts';

/*
 * Competing Functions host instances on one Service Bus subscription, for chaos tests of the
 * Azure edge. Each instance is a worker of its own: its own copy of the registration module
 * (so its own mesh, SDK clients, connection pools and circuits), its own Service Bus client and
 * receive link, and its sockets tagged with its name (HostIsolation), so killing it cuts all of
 * its I/O. An instance runs one invocation at a time: receive a peek-lock batch (cardinality
 * many), invoke the function, repeat. Nothing renews the locks of a running batch: the host
 * renews locks automatically only for functions that receive one message at a time, so a
 * batch that outlives LockDuration is delivered again while it still runs, as on Azure.
 */

/** One invocation as the fleet saw it. */
export interface FleetInvocation {
  id: number;
  host: string;
  startedAt: number;
  endedAt?: number;
  report?: InvocationReport;
  /** The invoke itself failed (the receive link, a killed host's cut connection). */
  failed?: string;
}

export interface FleetHost {
  name: string;
  dead: boolean;
  /** The invocation running now. */
  current?: FleetInvocation;
  /** Resolves when its loop has stopped (a killed host's last invocation may still be running). */
  stopped: Promise<void>;
}

export interface FleetOptions {
  /** The Service Bus connection string hosts receive with. */
  connectionString: string;
  isolation: HostIsolation;
  /** Import a fresh copy of the registration module (e.g. with a query naming the host). */
  importApp: (host: string) => Promise<unknown>;
  functionName: string;
  maxMessages: number;
  /** How long a receive waits for a first message. */
  waitMs: number;
}

/**
 * @example
 * const fleet = new HostFleet({ connectionString, isolation, importApp: (h) => import(`../../functions/azure/app.ts?host=${h}`), functionName: 'on-message', maxMessages: 16, waitMs: 200 });
 * await fleet.start('host-1'); await fleet.start('host-2');
 * fleet.kill('host-1'); // its locks expire; another instance receives its messages again
 * await fleet.stop();
 */
export class HostFleet {
  readonly hosts = new Map<string, FleetHost>();
  readonly invocations: FleetInvocation[] = [];
  private readonly registrations = new Map<string, RegisteredFunction>();
  private readonly runtime = new Map<string, { client: ServiceBusClient; host: ServiceBusFunctionsHost }>();
  private running = true;
  private next = 1;

  constructor(private readonly opts: FleetOptions) {}

  /**
   * The function as one worker registered it. Imports run one at a time: each import registers
   * the function under the same name, and the registration is read right after.
   */
  async registration(worker: string): Promise<RegisteredFunction> {
    const known = this.registrations.get(worker);
    if (known) return known;
    const registered = installFunctionsCore();
    await this.opts.importApp(worker);
    const reg = registered.get(this.opts.functionName);
    if (!reg) throw new Error(`${worker}: the app registered no ${this.opts.functionName}`);
    this.registrations.set(worker, reg);
    return reg;
  }

  /** Start an instance and its receive loop. */
  async start(name: string): Promise<FleetHost> {
    const registration = await this.registration(name);
    const { client, host } = await this.opts.isolation.run(name, async () => {
      const client = new ServiceBusClient(this.opts.connectionString);
      return { client, host: await startServiceBusFunctionsHost(client) };
    });
    this.runtime.set(name, { client, host });
    let resolve!: () => void;
    const h: FleetHost = { name, dead: false, stopped: new Promise<void>((r) => (resolve = r)) };
    this.hosts.set(name, h);
    void this.loop(h, host, registration).finally(resolve);
    return h;
  }

  /** The instance dies now: its sockets are cut, its settlements refused, its loop ends; its locks expire on their own. */
  kill(name: string): void {
    const h = this.hosts.get(name);
    if (!h || h.dead) return;
    h.dead = true;
    this.runtime.get(name)?.host.kill();
    this.opts.isolation.kill(name);
  }

  /** Stop every loop after its current invocation, and close the live instances. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all([...this.hosts.values()].filter((h) => !h.dead).map((h) => h.stopped));
    for (const [name, { client, host }] of this.runtime) {
      if (this.hosts.get(name)?.dead) continue;
      await host.close().catch(() => undefined);
      await client.close().catch(() => undefined);
    }
  }

  /** Invocations running now. */
  get busy(): number {
    return [...this.hosts.values()].filter((h) => !h.dead && h.current).length;
  }

  private async loop(h: FleetHost, host: ServiceBusFunctionsHost, registration: RegisteredFunction): Promise<void> {
    while (this.running && !h.dead) {
      const inv: FleetInvocation = { id: this.next++, host: h.name, startedAt: Date.now() };
      h.current = inv;
      try {
        inv.report = await this.opts.isolation.run(h.name, () => host.invoke(this.opts.functionName, { maxMessages: this.opts.maxMessages, waitMs: this.opts.waitMs, registration }));
      } catch (err) {
        inv.failed = err instanceof Error ? err.message : String(err);
        if (!h.dead) await new Promise((r) => setTimeout(r, 100));
      }
      inv.endedAt = Date.now();
      if ((inv.report?.messages ?? 0) > 0 || inv.failed) this.invocations.push(inv);
      if (h.current === inv) delete h.current;
    }
  }
}
