// The snapshot folder's public door at run time: reading a package-time snapshot of mesh.yaml
// and the routes. The writer (writeMeshSnapshot.ts) is imported by its own path from packaging
// code only, so its dependencies (the YAML loader, zod, ajv's code generator, esbuild) never
// reach a bundle that imports this door.
export { readMeshSnapshot } from './readMeshSnapshot.ts';
export type { LoadedSnapshot, ReadMeshSnapshotOptions } from './readMeshSnapshot.ts';
export { MESH_SNAPSHOT_FILE, SNAPSHOT_FORMAT } from './format.ts';
export type { MeshSnapshot, MeshSnapshotBody, SnapshotRoute, SnapshotSource } from './format.ts';
