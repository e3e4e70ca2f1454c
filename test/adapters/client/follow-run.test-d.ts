import type { AgentEvent, TaskEvent } from 'loopwork';
import {
  type FollowedEvent,
  followRun,
  isAgentEvent,
  isEventOfType,
  type RunLogEventOf,
  type UnrecognizedEvent,
} from 'loopwork/client';
import { expectTypeOf, it } from 'vitest';

it('followRun yields typed events, narrowed by their type', () => {
  expectTypeOf(followRun('/x')).toEqualTypeOf<AsyncGenerator<FollowedEvent, void, undefined>>();
  const event = {} as FollowedEvent;
  expectTypeOf(event.id).toEqualTypeOf<string>();
  if (event.data.type === 'turn-finished') expectTypeOf(event.data.costUsd).toEqualTypeOf<number>();
  if (event.data.type === 'task-finished') {
    expectTypeOf(event.data).toEqualTypeOf<Extract<TaskEvent, { type: 'task-finished' }>>();
  }
  if (event.data.type === 'unrecognized')
    expectTypeOf(event.data).toEqualTypeOf<UnrecognizedEvent>();
});

it('the guards narrow unknown values', () => {
  const value: unknown = null;
  if (isAgentEvent(value)) expectTypeOf(value).toEqualTypeOf<AgentEvent>();
  if (isEventOfType(value, 'tool-call-finished')) {
    expectTypeOf(value.output).toEqualTypeOf<string>();
    expectTypeOf(value).toEqualTypeOf<RunLogEventOf<'tool-call-finished'>>();
  }
  // @ts-expect-error not an event type
  isEventOfType(value, 'no-such-type');
});
