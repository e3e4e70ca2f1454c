// fauxqs (an SQS/S3 emulator speaking the AWS protocols) for the SQS and S3 tests: started in this
// process on a free port, or as a separate process for end-to-end tests whose workers are killed.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';

// The AWS SDK warns on every client it creates under Node 20; tests do not need to hear it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** An SQS client for the emulator at `endpoint`. */
export function sqsClient(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS });
}

/** An S3 client for the emulator at `endpoint` (path-style: no bucket subdomains on localhost). */
export function s3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    forcePathStyle: true,
  });
}

/** Creates (or finds: CreateQueue is idempotent) a queue; resolves its URL. */
export async function createQueue(
  client: SQSClient,
  name: string,
  attributes: Record<string, string> = {},
): Promise<string> {
  const fifo = name.endsWith('.fifo');
  const out = await client.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: fifo ? { FifoQueue: 'true', ...attributes } : attributes,
    }),
  );
  return out.QueueUrl as string;
}

/** The emulator started in this process. */
export interface Emulator {
  endpoint: string;
  server: FauxqsServer;
  sqs: SQSClient;
  s3: S3Client;
  stop(): Promise<void>;
}

export async function startEmulator(): Promise<Emulator> {
  const server = await startFauxqs({ port: 0, logger: false });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const sqs = sqsClient(endpoint);
  const s3 = s3Client(endpoint);
  return {
    endpoint,
    server,
    sqs,
    s3,
    async stop() {
      sqs.destroy();
      s3.destroy();
      await server.stop();
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** The emulator as a separate process (`node node_modules/fauxqs/dist/cli.js`), which outlives killed workers. */
export interface EmulatorProcess {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

export async function startEmulatorProcess(): Promise<EmulatorProcess> {
  const port = await freePort();
  const cli = fileURLToPath(new URL('../../node_modules/fauxqs/dist/cli.js', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [cli], {
    env: { ...process.env, FAUXQS_PORT: String(port) },
    stdio: 'ignore',
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitForHealth(endpoint, child);
  return {
    endpoint,
    port,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Waits until a fauxqs process answers `GET /health` (about 10 s at most). */
export async function waitForHealth(endpoint: string, child: ChildProcess): Promise<void> {
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`fauxqs exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${endpoint}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    if (i > 400) throw new Error(`fauxqs at ${endpoint} did not answer /health`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
