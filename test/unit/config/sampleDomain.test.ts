import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { decodeAny } from '../../../shared/buses/index.ts';
import { loadMesh } from '../../../shared/config/index.ts';
import { renderTemplate, toEventBridgeEvent } from '../../../shared/core/index.ts';
import { compilePatterns } from '../../../shared/rules/index.ts';

/*
 * The sample domain is what `npm start` runs and what new users read first. These specs keep
 * it honest: it loads without issues, and every sample tells the part of the story its name
 * promises (which route it reaches, or that it reaches none).
 */

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SAMPLES = join(ROOT, 'events', 'samples');

async function domain() {
  const { config, routes } = await loadMesh({ configFile: join(ROOT, 'mesh.yaml'), routesDir: join(ROOT, 'events', 'routes') });
  const matcher = compilePatterns(Object.fromEntries(routes.map((r) => [r.id, r.match])));
  const samples = (await readdir(SAMPLES)).filter((f) => f.endsWith('.json')).sort();
  const decode = async (file: string) =>
    decodeAny(JSON.parse(await readFile(join(SAMPLES, file), 'utf8')), {
      sources: config.sources,
      putEvents: { id: 'sample-id', now: new Date('2026-03-02T09:16:41Z'), region: 'us-east-1', account: '000000000000' },
      httpOrigin: { transport: 'http', cloud: 'local' },
    });
  return { config, routes, matcher, samples, decode };
}

describe('the sample domain', () => {
  it('loads mesh.yaml and the three routes without issues', async () => {
    const { config, routes } = await domain();

    expect(config.models.map((m) => m.id)).toEqual([
      'sim-bedrock-us-east-1',
      'sim-bedrock-eu-central-1',
      'sim-bedrock-eu-profile',
      'sim-azure-westeurope',
      'sim-azure-eastus',
      'sim-openai-global',
    ]);
    expect(config.models.every((m) => m.simulated && Object.values(m.simulated.faults).every((p) => p === 0))).toBe(true);
    expect(Object.keys(config.residency)).toEqual(['public', 'internal', 'confidential', 'pii']);
    expect(config.sources['acme-support']).toEqual({ cloud: 'azure', region: 'westeurope' });
    expect(routes.map((r) => [r.id, r.data.classification])).toEqual([
      ['invoice-extract', 'confidential'],
      ['order-risk', 'internal'],
      ['ticket-triage', 'pii'],
    ]);
  });

  it('routes each sample as its name tells: three matched, one unmatched, one ticket from a region no endpoint may serve', async () => {
    const { matcher, samples, decode } = await domain();

    const story: Record<string, string[]> = {};
    for (const file of samples) story[file] = (await decode(file)).flatMap((env) => matcher.matches(toEventBridgeEvent(env)));

    expect(story).toEqual({
      '01-order-placed.eventbridge.json': ['order-risk'],
      '02-order-placed-risky.putevents.json': ['order-risk'],
      '03-ticket-opened.servicebus.json': ['ticket-triage'],
      '04-invoice-received.cloudevent.json': ['invoice-extract'],
      '05-order-shipped.eventbridge.json': [],
      '06-ticket-opened-stockholm.servicebus.json': ['ticket-triage'],
    });
    const [stockholm] = await decode('06-ticket-opened-stockholm.servicebus.json');
    expect(stockholm?.event.extensions.datalocation).toBe('azure:swedencentral');
  });

  it('renders every matched route prompt from its sample without a missing slot', async () => {
    const { routes, matcher, samples, decode } = await domain();

    for (const file of samples) {
      for (const env of await decode(file)) {
        const view = toEventBridgeEvent(env);
        for (const route of routes.filter((r) => matcher.matches(view).includes(r.id))) {
          const ctx = { routeId: route.id, eventId: env.event.id, field: 'task.prompt' };
          expect(() => renderTemplate(route.task.prompt, view, ctx), `${file} → ${route.id}`).not.toThrow();
        }
      }
    }
  });

  it('has sample event data valid against the detail schemas in events/schemas', async () => {
    const { decode } = await domain();
    const ajv = new Ajv({ allErrors: true });
    (addFormats as unknown as (a: Ajv) => Ajv)(ajv);
    const schema = async (name: string) => ajv.compile(JSON.parse(await readFile(join(ROOT, 'events', 'schemas', name), 'utf8')) as object);
    const pairs: [string, string][] = [
      ['01-order-placed.eventbridge.json', 'order-placed.detail.json'],
      ['02-order-placed-risky.putevents.json', 'order-placed.detail.json'],
      ['03-ticket-opened.servicebus.json', 'ticket-opened.detail.json'],
      ['04-invoice-received.cloudevent.json', 'invoice-received.detail.json'],
      ['06-ticket-opened-stockholm.servicebus.json', 'ticket-opened.detail.json'],
    ];

    for (const [sample, schemaFile] of pairs) {
      const validate = await schema(schemaFile);
      const [env] = await decode(sample);
      expect(validate(env?.event.data), `${sample}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
  });
});
