import type { Clock, Destination, Envelope, EventLog, Publisher, PublishOutcome } from '../../core/index.ts';
import { systemClock } from '../../core/index.ts';

export type ResultListener = (destination: Destination, envelope: Envelope) => void;

/**
 * The local bus: in `mesh dev` every destination — local, EventBridge or Service Bus — is
 * delivered here, to the event log, under the destination's name. Nothing leaves the machine.
 */
export class LocalBus implements Publisher {
  private readonly listeners = new Set<ResultListener>();

  constructor(
    private readonly log: EventLog,
    private readonly clock: Clock = systemClock,
  ) {}

  async publish(destination: Destination, events: Envelope[]): Promise<PublishOutcome[]> {
    const outcomes: PublishOutcome[] = [];
    for (const envelope of events) {
      await this.log.append({
        at: this.clock.now().toISOString(),
        kind: 'result',
        eventId: envelope.event.id,
        type: envelope.event.type,
        source: envelope.event.source,
        ...(typeof envelope.event.extensions.meshroute === 'string' ? { routeId: envelope.event.extensions.meshroute } : {}),
        destination: destination.name,
        envelope,
      });
      for (const listener of this.listeners) listener(destination, envelope);
      outcomes.push({ id: envelope.event.id, ok: true });
    }
    return outcomes;
  }

  /** Be told of every published result (the dev console prints them). Returns an unsubscribe function. */
  onResult(listener: ResultListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
