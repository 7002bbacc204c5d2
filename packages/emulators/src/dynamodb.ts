import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface DynamoDBEmulatorOptions {
  /** LevelDB folder that keeps tables across restarts; in-memory (gone on stop) when absent. */
  directory?: string;
  /** 0 (default) picks a free port. */
  port?: number;
}

/** dynalite never checks signatures, but the SDK needs some credentials to sign with. */
export const DYNALITE_CREDENTIALS = { accessKeyId: 'DYNALITE', secretAccessKey: 'DYNALITE' } as const;

export interface DynamoEmulator {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

const SERVER_SCRIPT = fileURLToPath(new URL('./dynamodb-server.cjs', import.meta.url));

/**
 * Starts dynalite (DynamoDB on LevelDB) in a child process on a loopback port, ready once its store
 * answers (a `directory` another process holds is refused here, naming LevelDB's lock). A table
 * turns ACTIVE on a timer just after CreateTable returns: wait for it. Known gaps: no UpdateTimeToLive (TTL is never enforced — readers
 * must treat expired items as absent), no TransactWriteItems/TransactGetItems, and
 * ReturnValuesOnConditionCheckFailure is ignored.
 */
export async function startDynamoDB(options: DynamoDBEmulatorOptions = {}): Promise<DynamoEmulator> {
  if (options.directory !== undefined) mkdirSync(options.directory, { recursive: true });
  const child: ChildProcess = fork(SERVER_SCRIPT, [JSON.stringify({ directory: options.directory, port: options.port ?? 0 })], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (m: { type: string; port?: number; message?: string }) => {
      if (m.type === 'ready') resolve(m.port as number);
      else if (m.type === 'error') reject(new Error(`embedded DynamoDB failed to start: ${m.message}`));
    });
    child.once('exit', (code) => reject(new Error(`embedded DynamoDB exited (${code}) before it was ready: ${stderr}`)));
  });
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { ...DYNALITE_CREDENTIALS },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        // Longer than the child's own 10 s flush limit: a kill before LevelDB closes loses data.
        setTimeout(() => child.kill('SIGKILL'), 12_000).unref();
      });
      return stopped;
    },
  };
}
