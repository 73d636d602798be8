import type { FailureRecord, ReplayOutcome } from '../core/index.ts';
import type { ReplayRequest } from '../runtime/index.ts';

/**
 * Where a dead letter's route runs when it is replayed: the deployment it failed in (its
 * claims, its destinations) or, chosen on purpose, the local mesh. One port, so the replay
 * use case does not care which.
 */
export interface ReplayTarget {
  /** Said in every summary: where the route ran and where the history is kept. */
  readonly via: string;
  /**
   * Replay one event on one route (`failure.routeId`). `failure` is its ledger record
   * (`deadLetterFailure`): written first unless an open one exists, so the replay's history is
   * kept where the next engineer looks. A dry run writes nothing anywhere.
   */
  replayEvent(failure: FailureRecord, request: Omit<ReplayRequest, 'failureId'>): Promise<ReplayOutcome>;
  close(): Promise<void>;
}
