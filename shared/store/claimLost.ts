import { ClaimLostError } from '../core/errors.ts';

/**
 * The error every adapter throws when a holder presents a token that no longer holds the
 * claim: one wording, so a log line reads the same whichever cloud wrote it.
 *
 * @example
 * throw claimLost('order-risk:evt-1', 'complete', 'another owner holds it');
 */
export function claimLost(key: string, what: 'renew' | 'complete' | 'release', found: string): ClaimLostError {
  return new ClaimLostError(`could not ${what} the idempotency claim on ${key}: ${found}; the token presented no longer holds it`, {
    context: { idempotencyKey: key },
  });
}
