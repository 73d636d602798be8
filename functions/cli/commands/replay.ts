import type { ReplayOutcome } from '../../../shared/core/index.ts';
import { openAccess } from '../access.ts';
import { table } from '../format.ts';
import { COMMON_HELP, commonOptions, parseCommand, UsageError } from '../options.ts';
import { intOption } from './events.ts';
import { parseSource, type FailureSource } from './failed.ts';
import { replayFailures, selectFailures, stackSettings, STACK_OUTPUTS, type StackSettings } from '../../../shared/oncall/index.ts';
import { CONFIRM_ABOVE, confirm, currentUser, editEvent, maxWaitOption, Progress, readPatchFile, summarize, VERB, whereOption, type PatchChoice } from './replayShared.ts';
import { replayArchive, replayFromQueue, replayFromServiceBus } from './replaySources.ts';

export const REPLAY_HELP = `mesh replay — re-run failed events through the pipeline

Usage: mesh replay <failure-id>… [options]
       mesh replay <failure-id> (--patch <fix.json> | --edit) [options]
       mesh replay --all [options]
       mesh replay [--route <id>] [--error <code>] [--since <time>] [--until <time>] [--where <path>=<value>]… [options]
       mesh replay --source sqs:<queue-url> (<message-id>… | --all | filters) [--target local] [options]
       mesh replay --stack <stack-name> [--source sqs:<queue-url>] (<message-id>… | --all | filters) [options]
       mesh replay --source servicebus:<namespace>/<entity> (<message-id>… | --all | filters) [--target local] [options]
       mesh replay --source archive:<archive-arn-or-name> --since <time> --until <time> [--destination <bus-arn>] [--rules <arn,…> | --route <id> --rule-prefix <service>-<stage>] [--dry-run]

Each failed event is run again, unchanged, through its route. Safe to repeat and to stop:
an event whose result already exists is skipped as already done (result ids are
deterministic), a failure is closed only when its replay succeeded, and one that fails
again keeps its new reason. Every replay is recorded with who ran it (see mesh failed show).

Options:
  --dry-run                 show what would happen and where each event would run now; change nothing
  --patch <file>            edit before replay (one failure id or message id): a JSON merge patch
                            (RFC 7386) on the event's detail — the EventBridge detail, a
                            CloudEvent's data; id, source, type and time stay. The patched event is
                            checked like any input; the failure keeps the original event and the
                            replay's history keeps the patch (mesh failed show)
  --edit                    edit before replay in $EDITOR: the event opens as JSON, only its detail
                            may change; kept in the history as the merge patch of the change
  --model <endpoint>        run on this catalogue endpoint only (it must be allowed by the residency policy)
  --route-override <file>   replay through this route file instead (same route id, e.g. a fixed prompt)
  --route <id>              only this route: of the ledger, the failures on it; of a queue, the dead
                            letters that go to it, run on this route alone (a message whose event
                            also goes to other routes stays in its queue for them); of an archive,
                            the replay is sent to that route's rule only (needs --rule-prefix)
  --where <path>=<value>    only events holding this value (repeat to require several): the path is
                            dot-separated on the event as routes see it (detail, source,
                            detail-type, id, time, …; a CloudEvent's data is its detail), the value
                            JSON when it parses (42, true, "42"), else text: --where detail.customer.tier=gold
  --rate <n>                at most n events per second (default: as fast as they finish)
  --limit <n>               replay at most n failures (oldest first; of a queue, the first n it gives)
  --concurrency <n>         dead letters of a queue replayed at once (default 1: in queue order)
  --yes                     do not ask before replaying more than 10 events
  --actor <name>            who is replaying (default: the OS user)
  --max-wait <duration>     when every endpoint a route may use has an open circuit (the first
                            replays after a fault storm can reopen them), wait for the cool-down
                            and try again, at most this long without a success in between
                            (default 60s; 0: never wait). Past it the run stops, says which
                            endpoint is down and exits 1; the events not tried are left as they
                            were (not marked failed again)

Sources (--source; default local, the failure ledger):
  sqs:<queue-url>   an SQS dead-letter queue (Lambda's on-failure destination). Each event's
                    route runs in AWS, as the function would have run it: its result is
                    published with PutEvents to the route's destinations, its claim taken and
                    completed in the deployment's DynamoDB table. Settings are the function's:
                    MESH_IDEMPOTENCY_TABLE, MESH_EVENT_BUS (results of routes without
                    destination), AWS_REGION; AWS_ENDPOINT_URL_* honoured. A message is deleted
                    only when its route's result reached the destination or the deployment's
                    claim says the route is already done; otherwise it is made visible again,
                    the new reason printed and kept in the local ledger's history
                    (mesh failed show sqs:<queue-url>#<message-id>), and the command exits 1.
                    The queue is read in pages of 10 (what SQS returns per receive) and every
                    message is held (hidden, 5 min, renewed before its replay) until the run ends,
                    so the count and an ETA are known first; those not removed are made visible
                    again at the end, and a killed replay loses nothing. Ctrl-C finishes the
                    replays in flight and releases the rest; run the command again to resume. The history needs the local store: stop mesh dev first.
  archive:<arn|name> an EventBridge archive: StartReplay for --since…--until (both required) to
                    --destination (default: the archive's bus), only to --rules if given, then
                    DescribeReplay every --poll seconds (default 5) until it ends. The events go
                    back to the bus in AWS; the mesh does not process them here. --dry-run prints
                    the StartReplay request. Exit 1 when the replay fails or is cancelled.
  servicebus:<namespace>/<entity>
                    a Service Bus dead-letter subqueue (entity: a queue, or
                    <topic>/Subscriptions/<subscription>). Received peek-lock; each event's route
                    runs in Azure, as the function would have: its result sent by a Service Bus
                    sender to the route's destinations, its claim in the deployment's Table
                    Storage (AzureWebJobsStorage or MESH_TABLES_ENDPOINT, MESH_IDEMPOTENCY_TABLE,
                    MESH_RESULTS_ENTITY). Nothing is resubmitted to the topic (that would reach
                    every subscription). A message is completed only when its route is done,
                    otherwise abandoned (it stays) with the new reason printed and kept in the
                    ledger, and the command exits 1. Read in parts of 100 messages, each replayed
                    and settled while the SDK renews its locks (up to 5 min after receipt).
  --target local    run the dead letters of sqs:/servicebus: through the local mesh instead (local
                    bus, local store) — a choice, for trying a fix; the cloud's claims and
                    destinations are not touched, and a message still leaves its queue when its
                    local replay succeeded.
  --stack <name>    the AWS deployment's settings from its CloudFormation outputs (DescribeStacks):
                    IdempotencyTableName, EventBusName, the stack's region, and FailureQueueUrl as
                    the source when --source is not given; they win over MESH_IDEMPOTENCY_TABLE /
                    MESH_EVENT_BUS (AWS_ENDPOINT_URL_CLOUDFORMATION honoured).
AWS sources use the AWS credential chain, AWS_REGION, and AWS_ENDPOINT_URL_SQS / _EVENTBRIDGE / _DYNAMODB.
Service Bus uses MESH_SERVICEBUS_<NAMESPACE>_CONNECTION (a connection string), else your Azure login.
${COMMON_HELP}`;


export async function replayCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    all: { type: 'boolean', default: false },
    route: { type: 'string' },
    error: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    limit: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    model: { type: 'string' },
    'route-override': { type: 'string' },
    rate: { type: 'string' },
    yes: { type: 'boolean', short: 'y', default: false },
    actor: { type: 'string' },
    source: { type: 'string' },
    destination: { type: 'string' },
    rules: { type: 'string' },
    poll: { type: 'string' },
    target: { type: 'string' },
    'rule-prefix': { type: 'string' },
    'max-wait': { type: 'string' },
    where: { type: 'string', multiple: true },
    patch: { type: 'string' },
    edit: { type: 'boolean', default: false },
    concurrency: { type: 'string' },
    stack: { type: 'string' },
  });
  if (values.help) return (console.log(REPLAY_HELP), 0);
  const opts = commonOptions(values);
  let source: FailureSource = values.source === undefined ? { kind: 'local' } : parseSource(values.source, { archive: true });
  // --stack: the deployment's settings (and, without --source, its failure queue) from its outputs.
  let fromStack: StackSettings | undefined;
  if (values.stack !== undefined) {
    if (source.kind !== 'sqs' && values.source !== undefined) throw new UsageError('--stack reads an AWS deployment: it goes with --source sqs:<queue-url>, or alone (the stack\'s failure queue)');
    if (values.target !== undefined) throw new UsageError('--stack names the deployment to replay in; --target local replays on this machine instead: give one');
    fromStack = await stackSettings(values.stack);
    if (source.kind === 'local') {
      if (!fromStack.failureQueueUrl) throw new UsageError(`stack ${values.stack} has no output ${STACK_OUTPUTS.failureQueueUrl}: give the queue with --source sqs:<queue-url>`);
      source = { kind: 'sqs', queueUrl: fromStack.failureQueueUrl, label: `sqs:${fromStack.failureQueueUrl}` };
    }
    // The SDK clients sign for the stack's region unless AWS_REGION says otherwise.
    if (fromStack.region && !process.env.AWS_REGION) process.env.AWS_REGION = fromStack.region;
  }
  if (source.kind === 'archive' && values.where !== undefined) throw new UsageError('--where reads each event, which an archive replay does not: it sends the window back to the bus in AWS (use --route with --rule-prefix)');
  if (source.kind === 'archive') return replayArchive(source.archive, values, opts);
  if (values.concurrency !== undefined && source.kind === 'local') throw new UsageError('--concurrency goes with --source sqs:… or servicebus:… (the ledger replays one failure at a time)');
  if (values.target !== undefined && source.kind === 'local') throw new UsageError('--target goes with --source sqs:… or servicebus:… (the local ledger always replays through the local mesh)');
  for (const name of ['destination', 'rules', 'poll', 'rule-prefix'] as const) {
    if (values[name] !== undefined) throw new UsageError(`--${name} goes with --source archive:<archive>`);
  }
  const whereClauses = whereOption(values.where);
  const filtered = values.route !== undefined || values.error !== undefined || values.since !== undefined || values.until !== undefined || whereClauses.length > 0;
  if (positionals.length === 0 && !values.all && !filtered) {
    throw new UsageError('say what to replay: failure ids (from `mesh failed`), --all, or filters such as --route/--error/--since/--where');
  }
  if (positionals.length > 0 && (values.all || filtered)) throw new UsageError('give failure ids or --all/filters, not both');
  for (const [name, v] of [['--since', values.since], ['--until', values.until]] as const) {
    if (v !== undefined && Number.isNaN(Date.parse(v))) throw new UsageError(`${name}: expected an ISO 8601 time like 2026-11-22T03:00:00Z, got ${JSON.stringify(v)}`);
  }
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(rate > 0)) throw new UsageError(`--rate: expected events per second above 0, got ${JSON.stringify(values.rate)}`);
  const maxWaitMs = maxWaitOption(values['max-wait']);
  if (values.patch !== undefined && values.edit) throw new UsageError('give --patch or --edit, not both');
  if ((values.patch !== undefined || values.edit) && positionals.length !== 1) {
    throw new UsageError(`--${values.edit ? 'edit' : 'patch'} edits one event: give exactly one failure id (or message id with --source)`);
  }
  if (values.edit && source.kind !== 'local') throw new UsageError('--edit works on the local ledger; for a dead letter, write the change as a merge patch and pass --patch <file>');
  let patch: PatchChoice | undefined = values.patch === undefined ? undefined : await readPatchFile(values.patch);
  const dryRun = values['dry-run'];
  const actor = values.actor ?? currentUser();
  const sourceValues = { ...values, whereClauses, ...(patch ? { patchChoice: patch } : {}), ...(fromStack ? { stackSettings: fromStack } : {}) };
  if (source.kind === 'sqs') return replayFromQueue(source.queueUrl, positionals, sourceValues, opts, rate);
  if (source.kind === 'servicebus') return replayFromServiceBus(source, positionals, sourceValues, opts, rate);

  const access = await openAccess(opts, { needsPipeline: !dryRun });
  try {
    if (values.edit) {
      const record = await access.getFailure(positionals[0]!);
      if (!record) throw new UsageError(`no failure ${positionals[0]} to edit (mesh failed lists them)`);
      patch = await editEvent(record.envelope);
      if (!patch) {
        console.error('The event was not changed: nothing was replayed (run without --edit to replay it as it is).');
        return 1;
      }
    }
    const ids = positionals.length > 0 ? positionals : await selectFailures(access, { ...values, whereClauses }, values.limit ? intOption('--limit', values.limit) : undefined);
    if (ids.length === 0) {
      console.log(`Nothing to replay: no open failures match (read from ${access.via}).`);
      return 0;
    }
    if (!dryRun && ids.length > CONFIRM_ABOVE && !values.yes && !(await confirm(`Replay ${ids.length} failed events through the pipeline? [y/N] `))) {
      console.error(`Not replayed. Run with --dry-run to see what would happen, or --yes to skip this question.`);
      return process.stdin.isTTY ? 1 : 2;
    }

    const request = {
      actor,
      ...(dryRun ? { dryRun: true } : {}),
      ...(values.model ? { model: values.model } : {}),
      ...(values['route-override'] ? { routeOverride: values['route-override'] } : {}),
      ...(patch ?? {}),
    };
    const progress = new Progress(ids.length);
    // Ctrl-C: the replay in flight finishes and is recorded; the rest are not tried.
    const interrupt = new AbortController();
    const onSigint = () => (interrupt.signal.aborted ? process.exit(130) : interrupt.abort());
    process.on('SIGINT', onSigint);
    const run = await replayFailures({
      access,
      ids,
      request,
      ...(rate ? { rate } : {}),
      maxWaitMs,
      signal: interrupt.signal,
      onOutcome: (o) => progress.update(o),
      onWait: (n) => progress.waiting(n),
    }).finally(() => process.off('SIGINT', onSigint));
    const { outcomes, stopped } = run;
    progress.done();

    // The event refused by an open circuit was not tried either.
    const untried = run.untried + (outcomes.at(-1)?.blocked ? 1 : 0);
    if (opts.json) console.log(JSON.stringify({ summary: summarize(outcomes), ...(stopped ? { stopped, untried } : {}), outcomes }, null, 2));
    else printSummary(outcomes, dryRun, access.via, stopped, untried);
    return stopped || outcomes.some((o) => o.outcome === 'failed-again' || o.outcome === 'not-replayed') ? 1 : 0;
  } finally {
    await access.close();
  }
}

function printSummary(outcomes: ReplayOutcome[], dryRun: boolean, via: string, stopped: string | undefined, untried: number): void {
  console.log(
    table(
      ['failure id', 'event id', 'route', 'outcome', 'endpoint', 'detail'],
      outcomes.map((o) => [o.failureId, o.eventId ?? '', o.routeId ?? '', VERB[o.outcome], o.endpoint ?? '', o.detail]),
      70,
    ),
  );
  const c = summarize(outcomes);
  if (dryRun) {
    console.log(`\nDry run of ${outcomes.length}: ${c['would-replay']} would replay, ${c['would-skip']} would be skipped. Nothing was changed (via ${via}).`);
  } else {
    console.log(
      `\nReplayed ${outcomes.length}: ${c.succeeded} succeeded, ${c['failed-again']} failed again, ${c['already-done']} skipped as already done, ${c['not-replayed']} not replayed (via ${via}).`,
    );
    if (c['failed-again'] > 0) console.log('Failed-again events keep their new reason: `mesh failed show <failure-id>`.');
  }
  if (stopped) {
    console.log(`\nStopped early: ${stopped}. ${untried} failures were not tried and are left as they were; replay them once the endpoint is back (or raise --max-wait).`);
  }
}

