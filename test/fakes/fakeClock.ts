import type { Clock } from '../../shared/core/index.ts';

/** A clock that only moves when the code under test sleeps; records every sleep. */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  private t: number;

  constructor(start = '2026-11-22T08:00:00.000Z') {
    this.t = Date.parse(start);
  }

  now(): Date {
    return new Date(this.t);
  }

  advance(ms: number): void {
    this.t += ms;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.sleeps.push(ms);
    this.t += ms;
  }
}
