import { EventEmitter } from 'eventemitter3';
import type { AgentEvent, AgentEventListeners } from './events';
import type { RunResult } from './result';

/**
 * A run in progress: a typed event emitter, an async iterable of its events, and its result
 * (`Output`: the type of its validated answer, with an `output` schema).
 *
 * Iterating is single-consumer and buffered from the start, like a stream: every event since the
 * run began is delivered, so it is safe to start iterating late. Listeners added with `on` see
 * events from the moment they are added.
 */
export class AgentRun<Output = unknown>
  extends EventEmitter<AgentEventListeners>
  implements AsyncIterable<AgentEvent>
{
  /** Settles when the run ends; rejects only for errors before it starts (bad options, bad state). */
  readonly result: Promise<RunResult<Output>>;
  private readonly buffer: AgentEvent[] = [];
  private wake: (() => void) | undefined;
  private done = false;
  private iterated = false;

  /** @internal Use `streamAgent`. */
  constructor(start: (emit: (event: AgentEvent) => void) => Promise<RunResult<Output>>) {
    super();
    this.result = start((event) => this.publish(event)).finally(() => {
      this.done = true;
      this.wake?.();
    });
    // The result is often consumed only through iteration; don't report its rejection twice.
    this.result.catch(() => {});
  }

  private publish(event: AgentEvent): void {
    this.buffer.push(event);
    this.wake?.();
    this.emit(event.type, event as never);
    this.emit('event', event);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<AgentEvent> {
    if (this.iterated) throw new Error('[loopwork] an AgentRun can be iterated only once');
    this.iterated = true;
    while (true) {
      const event = this.buffer.shift();
      if (event) {
        yield event;
        continue;
      }
      if (this.done) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
    // Surface a start-up failure (bad options, corrupt state) to the iterating caller.
    await this.result;
  }
}
