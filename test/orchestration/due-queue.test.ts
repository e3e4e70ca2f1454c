// The worker's one timer: every running task's heartbeats, renewals, time limit and grace period
// are entries of one due-time queue instead of Node timers of their own.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DueQueue } from '../../src/queue/due-queue';

const activeTimers = () =>
  process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('DueQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs entries in due order, ties in the order they were scheduled, each once', () => {
    const due = new DueQueue((error) => {
      throw error;
    });
    const ran: string[] = [];
    for (const [name, at] of [
      ['c', 30],
      ['a', 10],
      ['b1', 20],
      ['b2', 20],
      ['d', 40],
    ] as const)
      due.after(at, () => ran.push(name));
    vi.advanceTimersByTime(20);
    expect(ran).toEqual(['a', 'b1', 'b2']);
    vi.advanceTimersByTime(100);
    expect(ran).toEqual(['a', 'b1', 'b2', 'c', 'd']);
    expect(due.size).toBe(0);
  });

  it('cancelled entries never run; every() repeats until cancelled', () => {
    const due = new DueQueue(() => {});
    const ran: string[] = [];
    const once = due.after(10, () => ran.push('once'));
    const tick = due.every(10, () => ran.push('tick'));
    once.cancel();
    vi.advanceTimersByTime(35);
    expect(ran).toEqual(['tick', 'tick', 'tick']);
    tick.cancel();
    vi.advanceTimersByTime(100);
    expect(ran).toHaveLength(3);
  });

  it('a throwing entry is reported and the entries due with it still run', () => {
    const reported: unknown[] = [];
    const due = new DueQueue((error) => reported.push(error));
    const ran: number[] = [];
    due.after(5, () => ran.push(1));
    due.after(5, () => {
      throw new Error('listener bug');
    });
    due.after(5, () => ran.push(3));
    vi.advanceTimersByTime(5);
    expect(ran).toEqual([1, 3]);
    expect(reported.map(String)).toEqual(['Error: listener bug']);
  });

  it('a delay longer than setTimeout takes (24.8 days) waits, instead of firing at once', () => {
    const due = new DueQueue(() => {});
    let ran = false;
    due.after(30 * 24 * 3600 * 1000, () => {
      ran = true;
    });
    vi.advanceTimersByTime(25 * 24 * 3600 * 1000);
    expect(ran).toBe(false);
    vi.advanceTimersByTime(5 * 24 * 3600 * 1000);
    expect(ran).toBe(true);
  });
});

describe('DueQueue with real timers', () => {
  it('holds one Node timer for any number of entries, and none once they are done', async () => {
    const due = new DueQueue(() => {});
    const before = activeTimers();
    const entries = Array.from({ length: 1_000 }, (_, i) => due.every(5 + (i % 50), () => {}));
    expect(activeTimers() - before).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    for (const entry of entries) entry.cancel();
    expect(due.armed).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect([due.size, due.armed]).toEqual([0, false]);
  });
});
