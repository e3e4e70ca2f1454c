// Promise 4: bad input never takes a worker down. A fuzz of the two orchestration surfaces, with a
// seeded PRNG so a failure replays: the dispatcher (payloads and options of every wrong shape) and
// the worker (message bodies of random bytes, wrong shapes, huge sizes, `__proto__` and
// `constructor` keys, envelopes for runs that do not exist). The invariant everywhere: a clear error
// or one dead letter with its reason, the process survives, nothing valid is lost, nothing is
// polluted, no secret out.
import {
  createDispatcher,
  defineTask,
  handleTask,
  InvalidOptionError,
  InvalidPayloadError,
  isFinal,
} from 'loopwork';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { shape as fuzzShape, prng } from '../helpers/fuzz';
import { memorySetup, waitFor } from '../orchestration/helpers';

const SEED = Number(process.env.LOOPWORK_FUZZ_SEED ?? 20_261_204);
const SECRET = 'sk-ant-api03-FUZZSECRETKEYFORTESTS-0123456789';

const job = defineTask({
  type: 'fuzz',
  payload: z.object({ n: z.number().int(), text: z.string().max(100) }),
  maxAttempts: 1,
});

describe('hostile input at the dispatcher', () => {
  it('every payload and option is either accepted or refused clearly, and only accepted ones are recorded', async () => {
    const { queue, runs } = memorySetup();
    const dispatcher = createDispatcher({ queue, runs, maxPayloadBytes: 4_096 });
    const random = prng(SEED);
    const counts = { tried: 0, accepted: 0, invalidPayload: 0, invalidOption: 0 };
    for (let i = 0; i < 1_000; i++) {
      counts.tried++;
      const valid = random() < 0.2;
      const payload = valid ? { n: i, text: 'ok' } : fuzzShape(random, SECRET);
      const options =
        random() < 0.3 ? (fuzzShape(random, SECRET) as object) : { runId: `run-${i}` };
      try {
        const { runId } = await dispatcher.dispatch(job, payload as never, options as never);
        counts.accepted++;
        expect((await runs.get(runId))?.status, `run ${runId}`).toBe('queued');
      } catch (error) {
        if (InvalidPayloadError.isInstance(error)) counts.invalidPayload++;
        else if (InvalidOptionError.isInstance(error)) counts.invalidOption++;
        else throw new Error(`dispatch ${i} threw something unclear: ${String(error)}`);
        expect((error as Error).message.length).toBeLessThan(2_000);
        expect((error as Error).message).not.toContain(SECRET);
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('n');
    const recorded = (await runs.list({ limit: 1_000 })).runs.length;
    expect(recorded).toBe(counts.accepted);
    expect(counts.accepted).toBeGreaterThan(100);
    expect(counts.invalidPayload).toBeGreaterThan(100);
    console.log(`dispatcher fuzz seed ${SEED}: ${JSON.stringify(counts)}`);
  });
});

describe('hostile input at the worker', () => {
  it('every junk message is dead-lettered once with a clear, secret-free reason; every valid run completes', async () => {
    const setup = memorySetup();
    const random = prng(SEED + 1);
    const done: number[] = [];
    const logged: string[] = [];
    const worker = setup.worker({
      concurrency: 4,
      redact: { secrets: [SECRET] },
      onError: (error) => logged.push(String(error)),
      handlers: [handleTask(job, async ({ n }) => void done.push(n))],
    });
    const junk: string[] = [];
    const valid: string[] = [];
    const kinds: Record<string, number> = {};
    const count = (kind: string) => {
      kinds[kind] = (kinds[kind] ?? 0) + 1;
    };
    for (let i = 0; i < 400; i++) {
      const roll = random();
      let body: string;
      if (roll < 0.2) {
        valid.push((await setup.dispatcher.dispatch(job, { n: i, text: 'ok' })).runId);
        count('valid');
        continue;
      } else if (roll < 0.35) {
        body = Buffer.from(Array.from({ length: 64 }, () => Math.floor(random() * 256))).toString(
          'latin1',
        );
        count('random bytes');
      } else if (roll < 0.5) {
        body = JSON.stringify(fuzzShape(random, SECRET)) ?? 'undefined';
        count('random JSON');
      } else if (roll < 0.65) {
        // A well-formed envelope for a run that does not exist, with a hostile payload.
        body = JSON.stringify({
          v: 2,
          type: 'fuzz',
          runId: `ghost-${i} ${SECRET}`,
          payload: fuzzShape(random, SECRET),
        });
        count('no such run');
      } else if (roll < 0.8) {
        // A real run whose message carries a payload that fails the schema.
        const runId = `bad-${i}`;
        await setup.runs.create({
          runId,
          taskType: 'fuzz',
          status: 'queued',
          payload: {},
          attempt: 0,
          maxAttempts: 1,
          version: 1,
          queuedAt: Date.now(),
          updatedAt: Date.now(),
        });
        body = `{"v":2,"type":"fuzz","runId":"${runId}","payload":{"__proto__":{"polluted":true},"n":"${SECRET}","constructor":{"prototype":{"polluted":true}}}}`;
        count('invalid payload');
      } else if (roll < 0.9) {
        body = `{"v":2,"type":"nope ${SECRET}","runId":"x${i}","payload":{}}`;
        count('unknown type');
      } else {
        body = `"${'x'.repeat(200_000)}${SECRET}`;
        count('huge, unterminated');
      }
      junk.push(body);
      await setup.queue.enqueue(job.queue, body);
    }
    const running = worker.run();
    await waitFor(
      async () =>
        (await setup.queue.deadLetters(job.queue)).length >= junk.length &&
        (await Promise.all(valid.map((id) => setup.runs.get(id)))).every(
          (run) => run && isFinal(run.status),
        ),
      'every message settled',
      30_000,
    );
    await worker.stop();
    await running;

    const letters = await setup.queue.deadLetters(job.queue);
    expect(letters).toHaveLength(junk.length);
    expect(new Set(letters.map((letter) => letter.id)).size).toBe(junk.length);
    for (const letter of letters) {
      expect(letter.reason).toMatch(
        /^(malformed message|unknown task type|payload of task|no run record)/,
      );
      expect(letter.reason.length).toBeLessThanOrEqual(2_100);
      expect(letter.reason).not.toContain(SECRET);
    }
    for (const runId of valid)
      expect((await setup.runs.get(runId))?.status, runId).toBe('completed');
    expect(done).toHaveLength(valid.length);
    const bad = (await setup.runs.list({ status: 'dead_lettered', limit: 1_000 })).runs;
    expect(bad.length).toBe(kinds['invalid payload'] ?? 0);
    for (const run of bad) expect(JSON.stringify(run)).not.toContain(SECRET);
    expect(logged, 'nothing went wrong inside the worker').toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    console.log(
      `worker fuzz seed ${SEED + 1}: ${JSON.stringify(kinds)}; ${letters.length} dead letters, ` +
        `${valid.length} valid runs completed, 0 secrets in reasons, records or logs`,
    );
  });
});
