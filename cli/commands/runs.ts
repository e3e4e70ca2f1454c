import {
  addToTranscript,
  emptyTranscript,
  type RunRecord,
  type RunRecordStatus,
  TRANSITIONS,
  type Transcript,
  usageTokens,
} from 'loopwork';
import type { Backend } from '../backend';
import type { CommandContext } from '../command';
import { CliError, EXIT } from '../exit';
import { count, short, table, usd, when } from '../output';

/** Every status a run record can have: the lifecycle's transition table has one entry each. */
export const RUN_STATUSES = Object.keys(TRANSITIONS) as readonly RunRecordStatus[];

/** Most events read per page when showing a run. */
const PAGE = 1_000;

/** `runs list`: one page of runs, newest first. */
export async function listRuns(backend: Backend, context: CommandContext): Promise<number> {
  const { values, out } = context;
  const status = values.status as string | undefined;
  if (status !== undefined && !RUN_STATUSES.includes(status as RunRecordStatus)) {
    throw new CliError(
      EXIT.usage,
      `--status must be one of ${RUN_STATUSES.join(', ')}; got ${JSON.stringify(status)}`,
    );
  }
  const limit = context.integer('limit', 20);
  const page = await backend.runs.list({
    limit,
    ...(status === undefined ? {} : { status: status as RunRecordStatus }),
    ...(values['task-type'] === undefined ? {} : { taskType: values['task-type'] as string }),
    ...(values.group === undefined ? {} : { groupId: values.group as string }),
    ...(values.cursor === undefined ? {} : { cursor: values.cursor as string }),
  });
  if (values.json) {
    out.line(JSON.stringify(page));
    return EXIT.ok;
  }
  if (page.runs.length === 0) {
    out.line('no runs');
    return EXIT.ok;
  }
  out.line(
    table(
      ['RUN', 'STATUS', 'TASK', 'ATTEMPT', 'QUEUED', 'COST'],
      page.runs.map((run) => [
        short(run.runId, 40),
        statusText(context, run.status),
        short(run.taskType, 30),
        `${run.attempt}/${run.maxAttempts}`,
        when(run.queuedAt),
        usd(run.costUsd),
      ]),
    ),
  );
  if (page.cursor) out.line(out.paint('dim', `more: --cursor ${page.cursor}`));
  return EXIT.ok;
}

/** The run's record, or a not-found CliError. */
async function recordOf(backend: Backend, runId: string): Promise<RunRecord> {
  const record = await backend.runs.get(runId);
  if (!record) {
    throw new CliError(EXIT.notFound, `no run "${short(runId, 80)}" in ${backend.label}`);
  }
  return record;
}

/** `runs show <id>`: the record and its transcript (turns, tool calls, usage and cost). */
export async function showRun(backend: Backend, context: CommandContext): Promise<number> {
  const runId = context.runId();
  const record = await recordOf(backend, runId);
  const transcript = emptyTranscript();
  let after: string | undefined;
  while (true) {
    const page = await backend.events.read(runId, { ...(after ? { after } : {}), limit: PAGE });
    for (const event of page) addToTranscript(transcript, event);
    if (page.length < PAGE) break;
    after = page.at(-1)?.id;
  }
  const { out } = context;
  if (context.values.json) {
    out.line(JSON.stringify({ run: record, transcript }));
    return EXIT.ok;
  }
  out.line(`${out.paint('bold', 'run')}       ${printableId(record.runId)}`);
  out.line(`status    ${statusText(context, record.status)}`);
  out.line(`task      ${short(record.taskType)}`);
  out.line(`attempt   ${record.attempt} of ${record.maxAttempts}`);
  if (record.redrivenFrom) out.line(`redrive   of ${printableId(record.redrivenFrom)}`);
  out.line(`queued    ${when(record.queuedAt)}`);
  if (record.startedAt) out.line(`started   ${when(record.startedAt)}`);
  if (record.finishedAt) out.line(`finished  ${when(record.finishedAt)}`);
  if (record.workerId) out.line(`worker    ${short(record.workerId)}`);
  out.line(`cost      ${usd(record.costUsd ?? transcript.costUsd)}`);
  if (record.error)
    out.line(
      `error     ${out.paint('red', `${record.error.code}: ${short(record.error.message, 200)}`)}`,
    );
  if (record.cancel) out.line(`cancel    requested: ${short(record.cancel.reason)}`);
  if (record.output !== undefined)
    out.line(`output    ${short(JSON.stringify(record.output), 200)}`);
  printTurns(context, transcript);
  return EXIT.ok;
}

function printTurns(context: CommandContext, transcript: Transcript): void {
  const { out } = context;
  if (transcript.turns.length === 0) return;
  out.line('');
  out.line(
    table(
      ['TURN', 'TOKENS', 'COST', 'STOP', 'TOOLS'],
      transcript.turns.map((turn) => [
        String(turn.turn),
        turn.usage ? count(usageTokens(turn.usage)) : '-',
        usd(turn.costUsd),
        turn.stopReason ?? '-',
        short(
          turn.toolCalls
            .map((call) => `${call.toolName}${call.state === 'failed' ? ' (failed)' : ''}`)
            .join(', ') || '-',
          60,
        ),
      ]),
    ),
  );
  out.line(`total: ${count(transcript.totalTokens)} tokens, ${usd(transcript.costUsd)}`);
}

/** `runs cancel <id>`: a queued run ends now; a running one when its worker next renews its lease. */
export async function cancelRun(backend: Backend, context: CommandContext): Promise<number> {
  const runId = context.runId();
  const reason = (context.values.reason as string | undefined) ?? 'cancelled from the loopwork CLI';
  const result = await backend.dispatcher.cancel(runId, reason);
  if (result.outcome === 'unknown') {
    throw new CliError(EXIT.notFound, `no run "${short(runId, 80)}" in ${backend.label}`);
  }
  const { out } = context;
  if (context.values.json) {
    out.line(JSON.stringify(result));
    return EXIT.ok;
  }
  const said = {
    cancelled: 'cancelled (it was queued and will not start)',
    requested: 'cancel requested: its worker stops it at its next lease renewal',
    finished: `already finished (${result.status ?? 'unknown'}); left as it is`,
  }[result.outcome];
  out.line(`${printableId(runId)}: ${said}`);
  return EXIT.ok;
}

/** `runs tail <id>`: follows a run live, with a progress line on terminals. */
export async function tailRun(backend: Backend, context: CommandContext): Promise<number> {
  const runId = context.runId();
  await recordOf(backend, runId);
  const { out, values, signal } = context;
  const transcript = emptyTranscript();
  let text = '';
  const flushText = () => {
    if (text.trim()) out.line(`${out.paint('cyan', 'assistant')} ${short(text, 2_000)}`);
    text = '';
  };
  const progress = () =>
    out.status(
      out.paint(
        'dim',
        `turn ${transcript.turns.at(-1)?.turn ?? 0} · ${count(transcript.totalTokens)} tokens · ${usd(transcript.costUsd)}`,
      ),
    );
  const after = values.after as string | undefined;
  for await (const event of backend.events.follow(runId, { ...(after ? { after } : {}), signal })) {
    addToTranscript(transcript, event);
    if (values.json) {
      out.line(JSON.stringify(event));
    } else {
      const data = event.data as { type?: string } & Record<string, unknown>;
      switch (data.type) {
        case 'text-delta':
          text += String(data.text ?? '');
          break;
        case 'tool-call-started':
          flushText();
          out.line(
            `${out.paint('yellow', 'tool')} ${short(String(data.toolName), 40)} ${short(JSON.stringify(data.input) ?? '', 100)}`,
          );
          break;
        case 'tool-call-finished':
          out.line(
            `  ${out.paint('green', '→')} ${short(String(data.output), 120)} ${out.paint('dim', `(${data.durationMs} ms)`)}`,
          );
          break;
        case 'tool-call-failed':
          out.line(`  ${out.paint('red', '✗')} ${short(`${data.reason}: ${data.message}`, 120)}`);
          break;
        case 'turn-finished': {
          flushText();
          const turn = transcript.turns.find((entry) => entry.turn === data.turn);
          const tokens = turn?.usage ? usageTokens(turn.usage) : 0;
          if (!out.tty)
            out.line(
              `turn ${String(data.turn)} finished: ${count(tokens)} tokens, ${usd(turn?.costUsd)} (total ${count(transcript.totalTokens)} tokens, ${usd(transcript.costUsd)})`,
            );
          break;
        }
        case 'task-retried':
          out.line(
            out.paint(
              'yellow',
              `attempt ${String(data.attempt)} failed; retrying: ${short(String((data.error as { message?: unknown })?.message), 160)}`,
            ),
          );
          break;
        case 'task-finished':
          flushText();
          break;
      }
      progress();
    }
    if (transcript.finished) break;
  }
  out.clearStatus();
  if (signal.aborted) return EXIT.interrupted;
  const finished = transcript.finished;
  if (!finished) return EXIT.ok;
  if (!values.json) {
    const { status } = finished;
    out.line(
      `${statusText(context, status)} after ${transcript.turns.length} turns: ${count(transcript.totalTokens)} tokens, ${usd(transcript.costUsd)}${finished.error ? ` — ${short(finished.error.message, 200)}` : ''}`,
    );
  }
  return finished.status === 'completed' ? EXIT.ok : EXIT.runNotCompleted;
}

function statusText(context: CommandContext, status: RunRecordStatus): string {
  const style =
    status === 'completed' ? 'green' : status === 'queued' || status === 'running' ? 'cyan' : 'red';
  return context.out.paint(style, status);
}

const printableId = (id: string) => short(id, 200);
