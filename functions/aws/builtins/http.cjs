/* global module, process */
// node:http for the Lambda bundle (serverless.yml, custom.esbuild.alias): the module itself, without
// the ES module namespace whose creation reads node:http's lazy getters and so loads undici.
module.exports = process.getBuiltinModule('node:http');
