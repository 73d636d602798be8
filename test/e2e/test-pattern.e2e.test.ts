import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMesh } from './devProcess.ts';

/* `mesh test-pattern` as an integrator runs it, like `aws events test-event-pattern`, offline. */

const pattern = JSON.stringify({ source: ['shop.orders'], detail: { amount: [{ numeric: ['>', 100] }], currency: ['EUR'] } });
const bigOrder = JSON.stringify({ source: 'shop.orders', detail: { amount: 250, currency: 'EUR' } });
const smallOrder = JSON.stringify({ source: 'shop.orders', detail: { amount: 42, currency: 'EUR' } });

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('mesh test-pattern', () => {
  it('exits 0 and says so when the event matches', async () => {
    const r = await runMesh(['test-pattern', '--pattern', pattern, '--event', bigOrder], {});

    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('Matches.');
  });

  it('exits 1 and names the first field that failed, with the value and the rule', async () => {
    const r = await runMesh(['test-pattern', '--pattern', pattern, '--event', smallOrder], {});

    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^Does not match: detail\.amount: 42 .*numeric.*100/m);
    expect(r.stdout).not.toMatch(/currency/);
  });

  it('reads the pattern and the event from files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nearmesh-test-pattern-'));
    dirs.push(dir);
    await writeFile(join(dir, 'pattern.json'), pattern);
    await writeFile(join(dir, 'event.json'), bigOrder);

    const r = await runMesh(['test-pattern', '--pattern', join(dir, 'pattern.json'), '--event', join(dir, 'event.json')], {});

    expect(r.code).toBe(0);
  });

  it('prints the verdict and the reason as JSON with --json', async () => {
    const matched = await runMesh(['test-pattern', '--pattern', pattern, '--event', bigOrder, '--json'], {});
    const missed = await runMesh(['test-pattern', '--pattern', pattern, '--event', smallOrder, '--json'], {});

    expect([matched.code, JSON.parse(matched.stdout)]).toEqual([0, { matches: true }]);
    expect(missed.code).toBe(1);
    expect(JSON.parse(missed.stdout)).toEqual({ matches: false, reason: expect.stringMatching(/^detail\.amount: 42 /) as string });
  });

  it('exits 2 for an invalid pattern, naming the path inside it', async () => {
    const bad = JSON.stringify({ detail: { amount: [{ numeric: ['>', 'ten'] }] } });

    const text = await runMesh(['test-pattern', '--pattern', bad, '--event', bigOrder], {});
    const json = await runMesh(['test-pattern', '--pattern', bad, '--event', bigOrder, '--json'], {});

    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(/invalid pattern \(pattern path detail\.amount\[0\]\.numeric\)/);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: 'InvalidPattern', path: 'detail.amount[0].numeric' });
  });

  it('exits 2 for an event that is not JSON, and when an option is missing', async () => {
    const badEvent = await runMesh(['test-pattern', '--pattern', pattern, '--event', '{"source": '], {});
    const missing = await runMesh(['test-pattern', '--pattern', pattern], {});

    expect(badEvent.code).toBe(2);
    expect(badEvent.stderr).toMatch(/invalid event/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--event/);
  });
});
