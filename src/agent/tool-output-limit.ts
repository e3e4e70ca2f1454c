import { describeThrown } from '../internal/describe-thrown';
import type { BlobStore } from '../store/blob-store';

/** Where and how far a tool's output is bounded. */
export interface OutputLimit {
  runId: string;
  toolCallId: string;
  /** Largest output the model sees, in UTF-8 bytes (the marker comes on top). */
  maxBytes: number;
  /** Keeps the full output of a cut one, when set. */
  blobs: BlobStore | undefined;
}

/** The blob key of a tool call's full output. */
export function toolOutputBlobKey(runId: string, toolCallId: string): string {
  return `runs/${encodeURIComponent(runId)}/tool-results/${encodeURIComponent(toolCallId)}.txt`;
}

/** The first `maxBytes` bytes of `text`, never splitting a character. */
function headBytes(text: string, maxBytes: number): string {
  const head = Buffer.from(text, 'utf8').subarray(0, maxBytes).toString('utf8');
  // A cut through a multi-byte character decodes as U+FFFD at the end: drop it.
  return head.endsWith('\uFFFD') && !text.startsWith(head) ? head.slice(0, -1) : head;
}

/**
 * `output` when it fits; otherwise its first `maxBytes` bytes and a marker the model reads,
 * saying how much was cut and where the full output is (put in the blob store first). A failing
 * blob store does not fail the tool call: the marker says the rest was not kept.
 */
export async function boundToolOutput(output: string, limit: OutputLimit): Promise<string> {
  const bytes = Buffer.byteLength(output, 'utf8');
  if (bytes <= limit.maxBytes) return output;
  const head = headBytes(output, limit.maxBytes);
  const shown = `the first ${Buffer.byteLength(head, 'utf8')} of ${bytes} bytes`;
  let where = 'the rest was not kept; ask for less (a narrower query, a range) if you need it';
  if (limit.blobs) {
    const key = toolOutputBlobKey(limit.runId, limit.toolCallId);
    try {
      await limit.blobs.put(key, Buffer.from(output, 'utf8'), { contentType: 'text/plain' });
      where = `the full output is in the blob store under "${key}"`;
    } catch (error) {
      where = `the full output could not be stored (${describeThrown(error)}); ask for less if you need the rest`;
    }
  }
  return `${head}\n\n[loopwork: tool output truncated to ${shown}; ${where}]`;
}
