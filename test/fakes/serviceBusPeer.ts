import type { AddressInfo, Socket } from 'node:net';
import rhea, { type Connection, type EventContext, type Message, type Sender } from 'rhea';
import { Entities, isDeadLetterAddress, normalizeAddress, type StoredMessage } from './amqp/entities.ts';
import { answerManagement, toDelivered, type Reply } from './amqp/management.ts';

/** Message format of a batch: an outer message whose data sections are encoded messages. */
const BATCH_FORMAT = 0x80013700;
const MAX_MESSAGE_SIZE = 1024 * 1024;
const MANAGEMENT = '/$management';
// rhea's typings omit the outcome constructors its runtime has.
const ACCEPTED = (rhea.message as unknown as { accepted(): { described(): unknown } }).accepted().described();

export interface ServiceBusPeerOptions {
  /** Topic → subscriptions; a send to the topic lands in each `<topic>/subscriptions/<sub>`. */
  topics?: Record<string, string[]>;
  /** How long a peek-lock delivery stays locked. Default 30 s. */
  lockDurationMs?: number;
  /** Deliveries before an abandoned message is dead-lettered with MaxDeliveryCountExceeded. Default 10. */
  maxDeliveryCount?: number;
  /**
   * Asked about every send the peer would accept (after `failSends`): refuse it with an AMQP
   * error, or let it in and be told once its messages are enqueued, before the outcome goes
   * back to the sender (a chaos test kills the sender there).
   */
  onSend?: (send: PeerSend) => PeerSendPlan | void;
}

/** One transfer to a queue or topic, as `onSend` sees it. */
export interface PeerSend {
  address: string;
  /** Its messages (a batch's each), bodies JSON-parsed when they parse. */
  messages: { messageId: unknown; body: unknown; applicationProperties: Record<string, unknown> }[];
  /** The connection's ports as the peer saw them when it accepted it (a test maps them to the sending host). */
  socket: { remotePort?: number | undefined; localPort?: number | undefined };
}

export interface PeerSendPlan {
  /** Refuse the whole transfer with this error (nothing is enqueued). */
  refuse?: { condition: string; description?: string };
  /** Called once the messages are enqueued. */
  accepted?: () => void;
}

/** A received message as tests assert on it. */
export interface PeerMessage {
  sequenceNumber: number;
  deliveryCount: number;
  messageId: unknown;
  correlationId: unknown;
  subject: string | undefined;
  contentType: string | undefined;
  applicationProperties: Record<string, unknown>;
  /** The body: JSON parsed when it parses (the SDK sends JSON objects as a data section). */
  body: unknown;
  locked: boolean;
}

/** One delivery to a consumer: when it left the peer, so tests can measure redelivery spacing. */
export interface PeerDelivery {
  address: string;
  messageId: unknown;
  /** The delivery count the consumer saw (1 on first delivery). */
  deliveryCount: number;
  at: number;
}

export interface ServiceBusPeer {
  port: number;
  /** For the real SDK: plain TCP on this port, SAS claims accepted as is. */
  connectionString: string;
  /** Messages an address holds now (queue, subscription, or `<entity>/$DeadLetterQueue`). */
  messages(address: string): PeerMessage[];
  /** Every delivery so far, oldest first (optionally of one address). */
  deliveries(address?: string): PeerDelivery[];
  /**
   * Refuse the next `count` sends to `address` (a queue or topic) with an AMQP error, as a
   * namespace does when an entity is full (`amqp:resource-limit-exceeded`, the default: QuotaExceeded,
   * which the SDK does not retry itself).
   */
  failSends(address: string, count: number, condition?: string): void;
  close(): Promise<void>;
}

/**
 * An AMQP 1.0 server that the real `@azure/service-bus` client talks to, with the parts of
 * Service Bus our code relies on: SASL ANONYMOUS/PLAIN, `$cbs` put-token, sender links with
 * `max_message_size`, batches (format 0x80013700), peek-lock deliveries with a 16-byte lock
 * token tag and the broker annotations, settlement by disposition (accepted = complete,
 * released/modified = abandon, rejected with `com.microsoft:dead-letter` = dead-letter) or
 * by `$management` update-disposition, dead-letter subqueues, drain.
 *
 * @example
 * const peer = await startServiceBusPeer({ topics: { results: ['all'] } });
 * const client = new ServiceBusClient(peer.connectionString);
 */
export async function startServiceBusPeer(options: ServiceBusPeerOptions = {}): Promise<ServiceBusPeer> {
  const entities = new Entities(options.lockDurationMs ?? 30_000, options.maxDeliveryCount ?? 10);
  for (const [topic, subs] of Object.entries(options.topics ?? {})) for (const sub of subs) entities.addSubscription(topic, sub);
  const container = rhea.create_container({ id: 'servicebus-peer' });
  container.sasl_server_mechanisms.enable_anonymous();
  container.sasl_server_mechanisms.enable_plain(() => true);

  const consumers = new Set<Sender>();
  const deliveries: PeerDelivery[] = [];
  const sendFailures = new Map<string, { count: number; condition: string }>();
  /** Deliveries in flight: the stored message each delivery tag stands for. */
  const inFlight = new WeakMap<object, { address: string; stored: StoredMessage; lockToken: string }>();

  const feed = (sender: Sender) => {
    if (!consumers.has(sender)) return;
    const address = normalizeAddress(sender.source?.address ?? '');
    const peekLock = sender.snd_settle_mode !== 1;
    while (sender.sendable()) {
      const stored = entities.nextAvailable(address);
      if (!stored) break;
      if (peekLock) {
        entities.lock(stored);
        deliveries.push({ address, messageId: stored.message.message_id, deliveryCount: stored.deliveryCount, at: Date.now() });
        const token = stored.lockToken!;
        const delivery = sender.send(toDelivered(stored), lockTag(token));
        inFlight.set(delivery, { address, stored, lockToken: token });
        const expiry = setTimeout(() => entities.onAvailable(address), entities.lockDurationMs + 5);
        expiry.unref();
      } else {
        stored.deliveryCount++;
        deliveries.push({ address, messageId: stored.message.message_id, deliveryCount: stored.deliveryCount, at: Date.now() });
        entities.remove(address, stored);
        sender.send(toDelivered(stored));
      }
    }
    // A receiver asking to drain gets its leftover credit back at once when nothing is left.
    sender.set_drained(true);
  };
  entities.onAvailable = (address) => {
    for (const s of consumers) if (normalizeAddress(s.source?.address ?? '') === address && s.is_open()) feed(s);
  };

  const reply = (connection: Connection, request: Message, r: Reply, statusKey: string) => {
    const to = String(request.reply_to ?? '');
    const link = findSender(connection, to);
    if (!link) return;
    const response = {
      correlation_id: request.message_id,
      application_properties: { [statusKey]: r.status, ...(r.description ? { 'status-description': r.description, statusDescription: r.description } : {}) },
      ...(r.body === undefined ? {} : { body: r.body }),
    };
    link.send(response as Message);
  };

  container.on('receiver_open', (ctx: EventContext) => {
    const receiver = ctx.receiver!;
    // Without it the SDK cannot size a batch (createMessageBatch reads the link's max message size).
    (receiver as unknown as { local: { attach: { max_message_size?: number } } }).local.attach.max_message_size = MAX_MESSAGE_SIZE;
    receiver.set_target(receiver.target ?? {});
    receiver.set_source(receiver.source ?? {});
  });

  container.on('sender_open', (ctx: EventContext) => {
    const sender = ctx.sender!;
    sender.set_source(sender.source ?? {});
    sender.set_target(sender.target ?? {});
    const address = normalizeAddress(sender.source?.address ?? '');
    if (address === '$cbs' || address.endsWith(MANAGEMENT)) return;
    consumers.add(sender);
  });
  container.on('sender_close', (ctx: EventContext) => consumers.delete(ctx.sender!));
  container.on('sendable', (ctx: EventContext) => {
    if (consumers.has(ctx.sender!)) feed(ctx.sender!);
  });
  container.on('sender_draining', (ctx: EventContext) => {
    if (consumers.has(ctx.sender!)) feed(ctx.sender!);
  });

  container.on('message', (ctx: EventContext) => {
    const receiver = ctx.receiver!;
    const address = normalizeAddress(receiver.target?.address ?? '');
    const message = ctx.message!;
    if (address === '$cbs') {
      reply(ctx.connection, message, { status: 200, description: 'OK' }, 'status-code');
      return;
    }
    if (address.endsWith(MANAGEMENT)) {
      reply(ctx.connection, message, answerManagement(entities, address.slice(0, -MANAGEMENT.length), message), 'statusCode');
      return;
    }
    if (isDeadLetterAddress(address)) {
      ctx.delivery!.reject({ condition: 'amqp:not-allowed', description: 'cannot send to a dead-letter subqueue' });
      return;
    }
    // A subscription is where a topic's copies land; Service Bus takes sends only at the topic.
    if (/\/subscriptions\//.test(address)) {
      ctx.delivery!.reject({ condition: 'amqp:not-allowed', description: `cannot send to subscription ${address}: send to its topic` });
      return;
    }
    const failure = sendFailures.get(address);
    if (failure && failure.count > 0) {
      failure.count--;
      ctx.delivery!.reject({ condition: failure.condition, description: `the peer refuses this send to ${address} (failSends)` });
      flushDispositions(ctx.connection);
      return;
    }
    // rhea hands over a non-zero message format undecoded: a batch is an outer message to unpack.
    const format = (ctx as EventContext & { format?: number }).format;
    const messages = format === BATCH_FORMAT ? unbatch(rhea.message.decode(message as unknown as Buffer) as unknown as Message) : [message];
    const plan = options.onSend?.({
      address,
      messages: messages.map((m) => ({ messageId: m.message_id, body: readBody(m.body), applicationProperties: { ...(m.application_properties ?? {}) } })),
      socket: portsOf(ctx.connection),
    });
    if (plan && plan.refuse) {
      ctx.delivery!.reject({ condition: plan.refuse.condition, description: plan.refuse.description ?? `the peer refuses this send to ${address} (onSend)` });
      flushDispositions(ctx.connection);
      return;
    }
    for (const m of messages) entities.enqueue(address, m);
    ctx.delivery!.accept();
    flushDispositions(ctx.connection);
    plan?.accepted?.();
  });

  const settle = (ctx: EventContext, action: (address: string, stored: StoredMessage) => void) => {
    const held = ctx.delivery ? inFlight.get(ctx.delivery) : undefined;
    if (held && held.stored.lockToken === held.lockToken && (held.stored.lockedUntil ?? 0) > Date.now()) action(held.address, held.stored);
    // The SDK waits for the settled disposition before it resolves complete/abandon/deadLetter.
    ctx.delivery?.update(true, ACCEPTED);
  };
  container.on('accepted', (ctx: EventContext) => settle(ctx, (a, s) => entities.complete(a, s)));
  container.on('released', (ctx: EventContext) => settle(ctx, (a, s) => entities.abandon(a, s)));
  // rhea reports `modified` (how the SDK abandons) as `released` too: one handler, or the message is abandoned twice.
  container.on('rejected', (ctx: EventContext) =>
    settle(ctx, (a, s) => {
      const error = (ctx.delivery?.remote_state as { error?: { info?: Record<string, unknown> } } | undefined)?.error;
      entities.deadLetter(a, s, error?.info?.DeadLetterReason, error?.info?.DeadLetterErrorDescription);
    }),
  );
  container.on('error', () => {});
  // A consumer whose connection dropped (its host was killed) receives nothing more: rhea keeps
  // the link looking open with its credit, and feeding it would lock messages into the void.
  container.on('disconnected', (ctx: EventContext) => {
    for (const s of consumers) if (s.connection === ctx.connection) consumers.delete(s);
  });

  const server = container.listen({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    acceptedPorts.set(s, { remotePort: s.remotePort, localPort: s.localPort });
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  return {
    port,
    connectionString: `Endpoint=sb://localhost:${port};SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true`,
    messages: (address) => entities.queue(address).map(toPeerMessage),
    deliveries: (address) => (address === undefined ? [...deliveries] : deliveries.filter((d) => d.address === normalizeAddress(address))),
    failSends: (address, count, condition = 'amqp:resource-limit-exceeded') => void sendFailures.set(normalizeAddress(address), { count, condition }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Write the outcome of the delivery just settled now, on its own. rhea (3.0.5) coalesces the
 * dispositions settled in one turn into ranges and compares outcomes only once a range holds
 * two deliveries, so an accepted transfer followed by a refused one went out as one range
 * "accepted": the sender was told a refused send had succeeded. Service Bus answers each
 * transfer with its own outcome.
 */
function flushDispositions(connection: Connection): void {
  (connection as unknown as { _process?: () => void })._process?.();
}

// A connection's ports, read when it was accepted: a sender that died may leave a socket that no longer knows them.
const acceptedPorts = new WeakMap<Socket, { remotePort?: number | undefined; localPort?: number | undefined }>();
function portsOf(connection: Connection): { remotePort?: number | undefined; localPort?: number | undefined } {
  const socket = (connection as unknown as { socket?: Socket }).socket;
  if (!socket) return {};
  return acceptedPorts.get(socket) ?? { remotePort: socket.remotePort, localPort: socket.localPort };
}

/** The SDK reorders the first 8 bytes of the tag (GUID byte order) before reading it as the lock token. */
function lockTag(lockToken: string): Buffer {
  const b = Buffer.from(rhea.string_to_uuid(lockToken));
  return Buffer.from([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.subarray(8)]);
}

function unbatch(outer: Message): Message[] {
  const section = outer.body as { content?: Buffer | Buffer[]; multiple?: boolean } | undefined;
  const content = section?.content;
  const parts = Array.isArray(content) && section?.multiple ? content : content === undefined ? [] : [content as Buffer];
  return parts.map((p) => rhea.message.decode(p) as unknown as Message);
}

function findSender(connection: Connection, name: string): Sender | undefined {
  const found = connection.find_sender((s: Sender) => s.name === name);
  return found ?? undefined;
}

function toPeerMessage(stored: StoredMessage): PeerMessage {
  const m = stored.message;
  return {
    sequenceNumber: stored.sequenceNumber,
    deliveryCount: stored.deliveryCount,
    messageId: m.message_id,
    correlationId: m.correlation_id,
    subject: m.subject,
    contentType: m.content_type,
    applicationProperties: { ...(m.application_properties ?? {}) },
    body: readBody(m.body),
    locked: stored.lockToken !== undefined && (stored.lockedUntil ?? 0) > Date.now(),
  };
}

function readBody(body: unknown): unknown {
  const section = body as { typecode?: number; content?: unknown } | undefined;
  const raw = section && section.typecode === 0x75 ? section.content : body;
  if (Buffer.isBuffer(raw)) {
    const text = raw.toString('utf8');
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return raw;
}
