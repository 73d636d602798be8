import { MeshError, type MeshErrorOptions } from '../../shared/core/index.ts';

/**
 * The function cannot process messages right now for a reason that has nothing to do with
 * the message: its settings are wrong, the mesh could not be built (config, idempotency
 * table), or its store failed outside a route. Retryable: the event is fine and must not be
 * dead-lettered for it. The message says what to fix; `cause` keeps the original error.
 */
export class EdgeUnavailableError extends MeshError {
  override readonly name = 'EdgeUnavailableError';
  readonly code = 'EdgeUnavailable';
  readonly retryable = true;

  /**
   * @example
   * EdgeUnavailableError.from(err, 'the mesh could not be built', { eventId: 'TCK-1' })
   * // EdgeUnavailable: the mesh could not be built: ConfigError: … (cause: err)
   */
  static from(err: unknown, what: string, context: MeshErrorOptions['context'] = {}): EdgeUnavailableError {
    if (err instanceof EdgeUnavailableError) return err;
    const code = err instanceof MeshError ? `${err.code}: ` : '';
    const message = err instanceof Error ? err.message : String(err);
    return new EdgeUnavailableError(`${what}: ${code}${message}`, { cause: err, context: { ...context, ...(err instanceof MeshError ? { causeCode: err.code } : {}) } });
  }
}
