/* global require, module, __dirname, process */
/* eslint-disable @typescript-eslint/no-require-imports -- the framework loads plugins as CommonJS */
'use strict';
/*
 * A packaging hook for serverless.yml: writes the mesh snapshot (mesh.compiled.json: mesh.yaml
 * and the routes validated, each route's output validator generated as code, the SHA-256 of
 * every source file) into serverless-esbuild's build directory, so it is zipped at the package
 * root beside the bundle. The handler loads it at a cold start instead of parsing YAML and
 * running zod and ajv's compiler.
 *
 * Listed before serverless-esbuild in `plugins`: hooks of one event run in plugin order, and
 * serverless-esbuild bundles and zips within that same event. It is written into the build
 * directory rather than the service directory so that no generated file lands in the checkout,
 * where a stale copy could be zipped instead.
 */
const { execFileSync } = require('node:child_process');
const { mkdirSync } = require('node:fs');
const { join } = require('node:path');

const SNAPSHOT_FILE = 'mesh.compiled.json';

class MeshSnapshotPlugin {
  constructor(serverless, _options, { log } = {}) {
    this.serverless = serverless;
    this.log = log;
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.write(),
      'before:deploy:function:packageFunction': () => this.write(),
    };
  }

  write() {
    const esbuild = this.serverless.pluginManager.plugins.find((p) => p.constructor.name === 'EsbuildServerlessPlugin');
    if (!esbuild || typeof esbuild.buildDirPath !== 'string') {
      throw new this.serverless.classes.Error('the mesh snapshot goes into serverless-esbuild\'s build directory: list serverless-esbuild in plugins, after this plugin');
    }
    mkdirSync(esbuild.buildDirPath, { recursive: true });
    const root = this.serverless.serviceDir ?? this.serverless.config.servicePath;
    try {
      execFileSync(process.execPath, ['--import', 'tsx', join(__dirname, 'packageMeshSnapshot.ts'), root, join(esbuild.buildDirPath, SNAPSHOT_FILE)], {
        cwd: root,
        stdio: ['ignore', 'inherit', 'inherit'],
      });
    } catch {
      // The script has printed each problem with its file and line.
      throw new this.serverless.classes.Error('mesh.yaml or a route is invalid: the mesh snapshot was not written (see above)');
    }
  }
}

module.exports = MeshSnapshotPlugin;
