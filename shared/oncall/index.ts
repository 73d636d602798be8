// On-call use cases across sources (list, show, replay, discard), shared by the CLI and a later console.
// The cloud adapters load on first use (openReplayTarget), not through this door.
export { InvalidWhereError, SettingMissingError, LedgerUnavailableError } from './errors.ts';
export type { ReplayTarget } from './ReplayTarget.ts';
export type { LetterFacts, LetterPlace } from './deadLetterFailure.ts';
export { deadLetterFailure } from './deadLetterFailure.ts';
export type { MeshReplayTargetOptions } from './meshReplayTarget.ts';
export { meshReplayTarget } from './meshReplayTarget.ts';
export type { AwsTargetSettings } from './awsTargetSettings.ts';
export { awsTargetSettings } from './awsTargetSettings.ts';
export type { CloudTarget, OpenReplayTargetOptions } from './openReplayTarget.ts';
export { openReplayTarget } from './openReplayTarget.ts';
export type { Discard, DiscardedLetter } from './recordDiscard.ts';
export { discardFailure, recordDiscardedLetter } from './recordDiscard.ts';
export type { CircuitWaitNotice, CircuitWaitOptions, GatedOutcome } from './circuitWait.ts';
export { CircuitWait } from './circuitWait.ts';
export type { WhereClause } from './eventWhere.ts';
export { envelopeMatchesWhere, eventMatchesWhere, parseWhere } from './eventWhere.ts';
export { applyMergePatch, mergePatchBetween, patchEnvelope, patchSummary, replayPatch, PATCH_HISTORY_CHARS } from './patchEvent.ts';
export type { DeadLetterReader, LetterOutcome, LetterView, ReplayDeadLettersOptions, ReplayDeadLettersResult, Settling } from './replayDeadLetters.ts';
export { replayDeadLetters } from './replayDeadLetters.ts';
