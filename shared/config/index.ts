// The config folder's public door: mesh.yaml and route files, loaded and validated.
export { loadMesh } from './loadMesh.ts';
export type { LoadMeshOptions } from './loadMesh.ts';
export { loadMeshConfig } from './loadMeshConfig.ts';
export { loadRouteFile, loadRoutes } from './loadRoutes.ts';
export { checkTemplate, VIEW_FIELDS } from './checkTemplate.ts';
export { compileOutputSchema, formatOutputError } from './outputSchema.ts';
export type { CompiledOutput, SchemaProblem } from './outputSchema.ts';
export { looksLikeSecret } from './secrets.ts';
export { didYouMean } from './didYouMean.ts';
export { DEFAULT_RETENTION, DURATION_HINT, formatDuration, parseDuration } from './retention.ts';
