import { ConfigError, formatConfigIssue, MeshError } from '../../shared/core/errors.ts';
import { UsageError } from './options.ts';

// The AWS SDK warns on every command that its 2027 releases will need Node 22. The project pins
// its SDK versions (package-lock) and Lambda runs nodejs22.x, so on an engineer's Node 20 the
// warning is noise in front of the output they asked for. Set the variable to "false" to see it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const HELP = `mesh — the nearmesh command

Usage: mesh <command> [options]   (mesh <command> --help for details)

Commands:
  approvals   list results held for approval (routes with approval: required)
  approve     publish a held result, once
  audit       list model invocations from the local audit trail (no event content)
  dev         run the mesh locally: PutEvents + CloudEvents ingress, samples, admin API
  discard     remove failed events that must never run, with the reason (--reason)
  emit        send event files through the mesh
  events      list the local event log (inputs and results)
  explain     show where each matching route would send an event's data, and why
  failed      list failed events with their reason; \`failed show <id>\` for one
  reject      refuse a held result, with the reason (--reason)
  prune       delete old inputs, results and audit records from the local store (mesh.yaml retention)
  replay      re-run failed events through the pipeline (dry run, --model, route override)
  validate    check mesh.yaml and the route files
  test-pattern  does an event match an event pattern? (like aws events test-event-pattern)

With npm: \`npm start\` runs \`mesh dev\`; \`npm run mesh -- <command>\` runs any command.`;

// A command's module is imported when that command runs, so `mesh --help` (or a mistyped
// command) loads no SDK, store or pipeline: the compiled CLI keeps each command in its own chunk.
const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  approvals: async (args) => (await import('./commands/approvals.ts')).approvalsCommand(args),
  approve: async (args) => (await import('./commands/approvals.ts')).approveCommand(args),
  audit: async (args) => (await import('./commands/audit.ts')).auditCommand(args),
  dev: async (args) => (await import('./commands/dev.ts')).devCommand(args),
  discard: async (args) => (await import('./commands/discard.ts')).discardCommand(args),
  emit: async (args) => (await import('./commands/emit.ts')).emitCommand(args),
  events: async (args) => (await import('./commands/events.ts')).eventsCommand(args),
  explain: async (args) => (await import('./commands/explain.ts')).explainCommand(args),
  failed: async (args) => (await import('./commands/failed.ts')).failedCommand(args),
  prune: async (args) => (await import('./commands/prune.ts')).pruneCommand(args),
  reject: async (args) => (await import('./commands/approvals.ts')).rejectCommand(args),
  replay: async (args) => (await import('./commands/replay.ts')).replayCommand(args),
  validate: async (args) => (await import('./commands/validate.ts')).validateCommand(args),
  'test-pattern': async (args) => (await import('./commands/test-pattern.ts')).testPatternCommand(args),
};

/** Run the CLI; returns the exit code (0 ok, 1 failure, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(HELP);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`mesh: unknown command ${JSON.stringify(name)}\n\n${HELP}`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (err) {
    return report(err, name);
  }
}

function report(err: unknown, name: string): number {
  if (err instanceof UsageError) {
    console.error(`mesh ${name}: ${err.message}\nRun \`mesh ${name} --help\` for usage.`);
    return 2;
  }
  if (err instanceof ConfigError) {
    console.error(`Configuration is invalid (${err.issues.length} problem${err.issues.length === 1 ? '' : 's'}):`);
    for (const issue of err.issues) console.error(`  ${formatConfigIssue(issue)}`);
    return 1;
  }
  if (err instanceof MeshError) {
    console.error(`mesh ${name}: ${err.code}: ${err.message}`);
    return 1;
  }
  console.error(`mesh ${name}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return 1;
}

// Run when executed directly (tsx functions/cli/mesh.ts … or bin/mesh.js), not when imported by tests.
const invoked = process.argv[1] ?? '';
if (invoked.endsWith('mesh.ts') || invoked.endsWith('mesh.js') || invoked.endsWith('/mesh')) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
