import { describe, expect, it } from 'vitest';
import { archiveName, replayName } from '../../../shared/buses/eventbridge/archiveReplay.ts';

describe('replayName', () => {
  const now = new Date('2026-03-02T09:30:00.123Z');

  it('names the archive and the UTC time to the millisecond', () => {
    expect(replayName('orders-archive', now, () => 0.5)).toBe('mesh-orders-archive-20260302T093000.123Z-8000');
  });

  it('gives two replays started in the same millisecond different names', () => {
    const names = new Set(Array.from({ length: 50 }, () => replayName('orders-archive', now)));
    expect(names.size).toBeGreaterThan(45);
  });

  it('stays within 64 allowed characters for a long archive name', () => {
    const name = replayName(archiveName(`arn:aws:events:us-east-1:1:archive/${'x/'.repeat(60)}`), now);
    expect(name.length).toBeLessThanOrEqual(64);
    expect(name).toMatch(/^[.\-_A-Za-z0-9]+$/);
    expect(name).toMatch(/-20260302T093000\.123Z-[0-9a-f]{4}$/);
  });
});
