import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatConfigIssue } from '../../../shared/core/errors.ts';
import { formatDuration, loadMeshConfig, parseDuration } from '../../../shared/config/index.ts';
import { configIssues, MINIMAL_MESH, tempTree } from './tempFiles.ts';

const DAY = 86_400_000;

async function meshFile(text: string): Promise<string> {
  return join(await tempTree({ 'mesh.yaml': text }), 'mesh.yaml');
}

describe('retention in mesh.yaml', () => {
  it('keeps events 7 days and resolved failures 30 days when mesh.yaml says nothing', async () => {
    const config = await loadMeshConfig(await meshFile(MINIMAL_MESH));

    expect(config.retention).toEqual({ eventsMs: 7 * DAY, resolvedFailuresMs: 30 * DAY, auditMs: 365 * DAY });
  });

  it('reads durations in any unit, each setting defaulting on its own', async () => {
    const both = await loadMeshConfig(await meshFile(`${MINIMAL_MESH}retention: { events: 36h, resolvedFailures: 2w, audit: 90d }\n`));
    const eventsOnly = await loadMeshConfig(await meshFile(`${MINIMAL_MESH}retention:\n  events: 90m\n`));

    expect(both.retention).toEqual({ eventsMs: 36 * 3_600_000, resolvedFailuresMs: 14 * DAY, auditMs: 90 * DAY });
    expect(eventsOnly.retention).toEqual({ eventsMs: 90 * 60_000, resolvedFailuresMs: 30 * DAY, auditMs: 365 * DAY });
  });

  it('refuses a duration without a unit, a zero one and an unknown key, naming line and field', async () => {
    const issues = await configIssues(loadMeshConfig(await meshFile(`${MINIMAL_MESH}retention:\n  events: 7\n  resolvedFailures: 0d\n  results: 1d\n`)));
    const lines = issues.map(formatConfigIssue).join('\n');

    expect(lines).toMatch(/:12:\d+ retention\.events: .*expected a duration such as 7d/);
    expect(lines).toMatch(/:13:\d+ retention\.resolvedFailures: .*expected a duration such as 7d/);
    expect(lines).toMatch(/retention.*unknown key "results"/);
  });
});

describe('durations', () => {
  it('parses a whole number and a unit, and nothing else', () => {
    expect(parseDuration('7d')).toBe(7 * DAY);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration(' 1w ')).toBe(7 * DAY);
    for (const bad of ['7', 'd', '1.5d', '-1d', '7 days', '7D', '']) expect(parseDuration(bad)).toBeUndefined();
  });

  it('prints the largest unit that divides exactly', () => {
    expect(formatDuration(7 * DAY)).toBe('7d');
    expect(formatDuration(36 * 3_600_000)).toBe('36h');
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(1_500)).toBe('1500ms');
  });
});
