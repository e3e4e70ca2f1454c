import type { MessageAttributeValue } from '@aws-sdk/client-sqs';

/** Message attributes the adapter writes; all of DataType String, all under the `loopwork.` prefix. */
export const ATTRIBUTE = {
  /** The loopwork queue name (SQS names allow fewer characters), kept through a redrive. */
  queue: 'loopwork.queue',
  /** The task type, when the body is a task envelope: for the console, filters and metrics. */
  type: 'loopwork.type',
  /** How the body was encoded to pass SQS's character rules: `base64`, `base64-utf16le` or `empty`. */
  encoding: 'loopwork.encoding',
  /** Blob store key of a body too large for the queue; the SQS body is only a pointer. */
  blob: 'loopwork.blob',
  /** Dead-letter copies: why, the original message id and how often it had been delivered. */
  reason: 'loopwork.reason',
  id: 'loopwork.id',
  deliveries: 'loopwork.deliveries',
  deadAt: 'loopwork.dead-at',
} as const;

/** Prefix of the `MessageGroupId` the adapter gives an ungrouped message on a FIFO queue. */
export const UNGROUPED = 'loopwork.ungrouped.';

export type Attributes = Record<string, MessageAttributeValue>;

const string = (value: string): MessageAttributeValue => ({
  DataType: 'String',
  StringValue: value,
});

/**
 * Characters SQS accepts in a body are `#x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF`.
 * This pattern (no `u` flag) also flags surrogate pairs, that is characters beyond U+FFFF such as
 * emoji: AWS accepts those, but some SQS emulators (fauxqs among them) reject them, and a body
 * must arrive exactly as enqueued wherever it goes, so the adapter encodes them too.
 */
const OUTSIDE_SAFE_SET = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]/;

/** With the `u` flag, only unpaired surrogates are code points of category Cs. */
const LONE_SURROGATE = /\p{Cs}/u;

/** The SQS body and attributes that carry `body` exactly. */
export function encodeBody(body: string, queue: string): { body: string; attributes: Attributes } {
  const attributes: Attributes = { [ATTRIBUTE.queue]: string(queue) };
  const type = taskTypeOf(body);
  if (type !== undefined) attributes[ATTRIBUTE.type] = string(type);
  if (body === '') {
    // SQS refuses an empty body.
    attributes[ATTRIBUTE.encoding] = string('empty');
    return { body: '-', attributes };
  }
  if (LONE_SURROGATE.test(body)) {
    // UTF-8 cannot carry a lone surrogate (it would become U+FFFD); UTF-16 code units can.
    attributes[ATTRIBUTE.encoding] = string('base64-utf16le');
    return { body: Buffer.from(body, 'utf16le').toString('base64'), attributes };
  }
  if (OUTSIDE_SAFE_SET.test(body)) {
    attributes[ATTRIBUTE.encoding] = string('base64');
    return { body: Buffer.from(body, 'utf8').toString('base64'), attributes };
  }
  return { body, attributes };
}

/** The body as enqueued, from the SQS body and a reader of the message's attributes. */
export function decodeBody(body: string, attribute: (name: string) => string | undefined): string {
  const encoding = attribute(ATTRIBUTE.encoding);
  if (encoding === 'empty') return '';
  if (encoding === 'base64') return Buffer.from(body, 'base64').toString('utf8');
  if (encoding === 'base64-utf16le') return Buffer.from(body, 'base64').toString('utf16le');
  return body;
}

/** The `type` of a task envelope body (`{"v":1,"type":…}`), else undefined. */
function taskTypeOf(body: string): string | undefined {
  if (!body.startsWith('{"v":1,')) return undefined;
  try {
    const type = (JSON.parse(body) as { type?: unknown }).type;
    return typeof type === 'string' && type.length <= 256 ? type : undefined;
  } catch {
    return undefined;
  }
}

/** The size SQS counts against `MaximumMessageSize`: the body plus every attribute's name, type and value, in UTF-8 bytes. */
export function messageSize(body: string, attributes: Attributes): number {
  let size = Buffer.byteLength(body, 'utf8');
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value.DataType ?? '', 'utf8');
    if (value.StringValue !== undefined) size += Buffer.byteLength(value.StringValue, 'utf8');
    if (value.BinaryValue !== undefined) size += value.BinaryValue.byteLength;
  }
  return size;
}

/** A String attribute value. */
export const stringAttribute = string;

/** The SQS body and attributes of a message whose body is in the blob store under `key`. */
export function pointerTo(key: string, queue: string): { body: string; attributes: Attributes } {
  return {
    body: `loopwork: body stored in the blob store under ${key}`,
    attributes: { [ATTRIBUTE.queue]: string(queue), [ATTRIBUTE.blob]: string(key) },
  };
}

/** Reads String attributes of a message as the SDK returns them. */
export function sdkAttributes(
  attributes: Record<string, MessageAttributeValue> | undefined,
): (name: string) => string | undefined {
  return (name) => attributes?.[name]?.StringValue;
}

/**
 * The SQS name a loopwork queue name maps to by default: characters SQS does not allow in names
 * (anything but letters, digits, `-` and `_`) become `-`, so `loopwork:tasks:summarize` is
 * `loopwork-tasks-summarize`; FIFO queue names end in `.fifo`. Undefined when the result is
 * longer than SQS's 80 characters.
 */
export function sqsQueueName(name: string, fifo: boolean): string | undefined {
  const stem = (fifo && name.endsWith('.fifo') ? name.slice(0, -5) : name).replace(
    /[^A-Za-z0-9_-]/g,
    '-',
  );
  const full = fifo ? `${stem}.fifo` : stem;
  return full.length > 0 && full.length <= 80 ? full : undefined;
}
