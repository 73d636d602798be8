// Composition of the local mesh (`mesh dev`) and its HTTP ingress/admin server.
export * from './createLocalMesh.ts';
export * from './DevServer.ts';
export * from './outcomeJson.ts';
export * from './replayOne.ts';
