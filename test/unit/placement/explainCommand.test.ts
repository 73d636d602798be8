import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../functions/cli/mesh.ts';

/* `mesh explain` on the repository's own configuration and sample events. */

const REPO = join(import.meta.dirname, '..', '..', '..');
const sample = (name: string) => join(REPO, 'events/samples', name);
const common = ['--config', join(REPO, 'mesh.yaml'), '--routes', join(REPO, 'events/routes')];

async function explain(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const code = await main(['explain', ...common, ...args]);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

afterEach(() => vi.restoreAllMocks());

const rankedShape = { endpoint: expect.any(String), tier: expect.any(Number), distanceKm: expect.toSatisfy((v: unknown) => v === null || typeof v === 'number') };
const rejectedShape = { endpoint: expect.any(String), reason: expect.any(String) };

describe('mesh explain --json', () => {
  it('gives the issue’s shape for every sample event that matches a route', async () => {
    for (const file of ['01-order-placed.eventbridge.json', '02-order-placed-risky.putevents.json', '03-ticket-opened.servicebus.json', '04-invoice-received.cloudevent.json']) {
      // Act
      const r = await explain('--event', sample(file), '--json');
      // Assess
      expect(r.code, file).toBe(0);
      const json = JSON.parse(r.stdout) as { routes: Array<Record<string, unknown>> };
      expect(Object.keys(json)).toEqual(['routes']);
      expect(json.routes.length, file).toBeGreaterThan(0);
      for (const route of json.routes) {
        expect(Object.keys(route)).toEqual(['route', 'dataLocation', 'dataLocationSource', 'classification', 'placement']);
        const placement = route.placement as { ranked: unknown[]; rejected: unknown[] };
        expect(Object.keys(placement)).toEqual(['chosen', 'ranked', 'rejected', 'error']);
        expect(route).toMatchObject({ placement: { chosen: expect.any(String), error: null } });
        for (const ranked of placement.ranked) expect(ranked).toEqual(rankedShape);
        for (const rejected of placement.rejected) expect(rejected).toEqual(rejectedShape);
        // every catalogue endpoint is accounted for, once
        expect(placement.ranked.length + placement.rejected.length).toBe(6);
      }
    }
  });

  it('explains EU confidential invoices: Azure West Europe, and why each other endpoint may not see them', async () => {
    const r = await explain('--event', sample('04-invoice-received.cloudevent.json'), '--json');
    const [route] = (JSON.parse(r.stdout) as { routes: unknown[] }).routes;
    expect(route).toEqual({
      route: 'invoice-extract',
      dataLocation: 'azure:westeurope',
      dataLocationSource: 'event',
      classification: 'confidential',
      placement: {
        chosen: 'sim-azure-westeurope',
        ranked: [{ endpoint: 'sim-azure-westeurope', tier: 0, distanceKm: 0 }],
        rejected: expect.arrayContaining([
          { endpoint: 'sim-bedrock-eu-central-1', reason: 'endpoint is on aws, data on azure' },
          { endpoint: 'sim-azure-eastus', reason: 'data is in geography eu; endpoint stays in us' },
        ]),
        error: null,
      },
    });
  });

  it('exits 1 with no choice and the policy violation when a pii ticket comes from a region with no endpoint', async () => {
    const r = await explain('--event', sample('06-ticket-opened-stockholm.servicebus.json'), '--json');
    expect(r.code).toBe(1);
    const [route] = (JSON.parse(r.stdout) as { routes: Array<{ placement: Record<string, unknown> }> }).routes;
    expect(route).toMatchObject({ route: 'ticket-triage', dataLocation: 'azure:swedencentral', classification: 'pii' });
    expect(route!.placement).toMatchObject({ chosen: null, ranked: [], error: expect.stringContaining('no model endpoint may serve route ticket-triage') });
  });

  it('says no route matched, with the first field each route disagrees on', async () => {
    const r = await explain('--event', sample('05-order-shipped.eventbridge.json'), '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      routes: [],
      unmatched: expect.arrayContaining([{ route: 'order-risk', reason: 'detail-type: "OrderShipped" does not match ["OrderPlaced"]' }]),
    });
  });
});

describe('mesh explain', () => {
  it('prints each candidate with its tier and distance or rejection, and the choice', async () => {
    const r = await explain('--event', sample('01-order-placed.eventbridge.json'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('route order-risk · classification internal (from route)');
    expect(r.stdout).toContain('  data     aws:us-east-1 (from route), geography us');
    expect(r.stdout).toMatch(/allowed {2}2\. sim-azure-eastus — tier 2: other cloud, same geography us \(azure eastus\), 276 km/);
    expect(r.stdout).toContain('  rejected sim-azure-westeurope — data is in geography us; endpoint stays in eu');
    expect(r.stdout).toContain('  chosen   sim-bedrock-us-east-1');
  });

  it('prints exactly what the README shows', async () => {
    // The README's example output: if it rots, this fails.
    const readme = await readFile(join(REPO, 'README.md'), 'utf8');
    const command = '$ npm run mesh -- explain --event events/samples/01-order-placed.eventbridge.json\n';
    const start = readme.indexOf(command);
    expect(start, 'README shows a mesh explain example').toBeGreaterThan(-1);
    const shown = readme.slice(start + command.length, readme.indexOf('\n```', start));
    const r = await explain('--event', sample('01-order-placed.eventbridge.json'));
    expect(r.stdout).toBe(shown);
  });

  it('with --route, says which field stops that route matching', async () => {
    const r = await explain('--event', sample('01-order-placed.eventbridge.json'), '--route', 'ticket-triage');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('route ticket-triage does not match this event:');
    expect(r.stdout).toContain('source: "com.acme.orders" does not match ["com.acme.support"]');
  });

  it('exits 2 for usage errors: no --event, an unknown route, a missing file, a batch', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-explain-'));
    const batch = join(dir, 'batch.json');
    const event = { specversion: '1.0', source: 'com.acme.orders', type: 'OrderPlaced', data: {} };
    await writeFile(batch, JSON.stringify([{ ...event, id: 'a' }, { ...event, id: 'b' }]));

    expect((await explain()).code).toBe(2);
    const unknownRoute = await explain('--event', sample('01-order-placed.eventbridge.json'), '--route', 'nope');
    expect(unknownRoute).toMatchObject({ code: 2, stderr: expect.stringContaining('no route "nope"; routes: invoice-extract, order-risk, ticket-triage') });
    expect((await explain('--event', join(dir, 'missing.json'))).code).toBe(2);
    expect(await explain('--event', batch)).toMatchObject({ code: 2, stderr: expect.stringContaining('holds a batch of 2 events') });
  });
});
