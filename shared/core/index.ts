// The mesh core: domain types, the pipeline and its ports. Imports no cloud SDK.
export * from './errors.ts';
export type { CloudEvent, ExtensionValue } from './cloudevent.ts';
export { CONTEXT_ATTRIBUTES, EXTENSION_NAME, toStructured } from './cloudevent.ts';
export type { Envelope, Origin } from './envelope.ts';
export type { EventBridgeEvent } from './eventbridge.ts';
export { eventBridgeToEnvelope, toEventBridgeEvent } from './eventbridge.ts';
export type { Ids } from './ids.ts';
export { nameUuid, randomIds, resultId, sequentialIds } from './ids.ts';
export type { Clock } from './clock.ts';
export { systemClock } from './clock.ts';
export type { Logger } from './logger.ts';
export { jsonLogger, silentLogger } from './logger.ts';
export type { Route, RouteBudget, RouteData, RouteEmit, RouteTask } from './route.ts';
export type * from './catalogue.ts';
export { lookupPath, renderTemplate, templateSlots } from './template.ts';
export type { ProviderLookup, InvokeSuccess } from './invoke.ts';
export { InvokeFailure, invokeWithFailover } from './invoke.ts';
export type { Lineage, Provenance } from './result.ts';
export { buildResultEnvelope, stampTraceContext } from './result.ts';
export type { EventOutcome, PipelineOptions, ProcessOptions, RouteOutcome, RouteRunOptions, RouteStatus } from './pipeline.ts';
export type { ReplayOptions, ReplayOutcome, ReplayOutcomeKind, ReplayerDeps } from './replay.ts';
export { Replayer } from './replay.ts';
export { Pipeline, failureId, originDestination } from './pipeline.ts';
export type * from './ports/ModelProvider.ts';
export type * from './ports/Publisher.ts';
export type * from './ports/RouteMatcher.ts';
export type * from './ports/Placer.ts';
export type * from './ports/Store.ts';
export type * from './ports/Counters.ts';
export type * from './ports/Approvals.ts';
export type { ApprovalDeskOptions, ApprovalOutcome, ApprovalRequest } from './approvals.ts';
export {
  APPROVAL_EVENT_TYPE,
  ApprovalConflictError,
  ApprovalDesk,
  ApprovalNotFoundError,
  ApprovalSourceRefusedError,
  DEFAULT_APPROVAL_SOURCE,
  parseApprovalRequest,
  pendingApprovalEnvelope,
  pendingApprovalId,
} from './approvals.ts';
export { counterWindow, windowResetsAt } from './ports/Counters.ts';
export type { GateDecision, UsageGateOptions } from './usageGate.ts';
export { costMicroUsd, estimateUsage, requireCounters, UsageGate, usageKeys } from './usageGate.ts';
export type * from './ports/Telemetry.ts';
export type { TraceContext } from './trace.ts';
export { formatTraceparent, formatXrayTraceHeader, inputTraceContext, newTraceContext, parseTraceparent, parseTracestate, parseXrayTraceHeader } from './trace.ts';
export { propagateOnly } from './propagateOnly.ts';
