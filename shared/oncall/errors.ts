import { MeshError, type MeshErrorOptions } from '../core/index.ts';

/**
 * A setting the on-call replay needs to reach the deployment is missing or unusable (the
 * idempotency table, the bus, the storage account). Not retryable: set it, or choose the
 * local mesh on purpose (`--target local`). `context.setting` names the variable.
 */
export class SettingMissingError extends MeshError {
  override readonly name = 'SettingMissingError';
  readonly code = 'SettingMissing';
  readonly retryable = false;

  constructor(setting: string, message: string, options: MeshErrorOptions = {}) {
    super(message, { ...options, context: { ...options.context, setting } });
  }
}

/**
 * The local ledger (where replay history is kept) cannot be opened: another process, usually
 * `mesh dev`, holds it. Not retryable until that process stops.
 */
export class LedgerUnavailableError extends MeshError {
  override readonly name = 'LedgerUnavailableError';
  readonly code = 'LedgerUnavailable';
  readonly retryable = false;
}

/** A `--where` that is not `<path>=<value>`. Not retryable: `context.where` is the text given. */
export class InvalidWhereError extends MeshError {
  override readonly name = 'InvalidWhereError';
  readonly code = 'InvalidWhere';
  readonly retryable = false;
}
