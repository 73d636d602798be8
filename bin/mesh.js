#!/usr/bin/env node
// The `mesh` command. The mesh is TypeScript run through tsx, so there is no build step
// between editing a route handler and running it.
import { register } from 'tsx/esm/api';

register();
await import('../functions/cli/mesh.ts');
