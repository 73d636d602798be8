import type { Destination } from '../catalogue.ts';
import type { Envelope } from '../envelope.ts';
import type { MeshError } from '../errors.ts';

export type PublishOutcome = { id: string; ok: true } | { id: string; ok: false; error: MeshError };

/** One transport that results are published to. Batches as its transport requires. */
export interface Publisher {
  publish(destination: Destination, events: Envelope[]): Promise<PublishOutcome[]>;
}
