import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface S3EmulatorOptions {
  /** Data folder; a temporary one (removed on stop) when absent. */
  directory?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Buckets created at start. */
  buckets?: string[];
}

/**
 * Credentials s3rver accepts: it refuses an access key id it does not know (acceptCredentials adds
 * one), but does not verify signatures (its SigV4 check is unimplemented).
 */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3Emulator {
  endpoint: string;
  region: string;
  credentials: typeof S3RVER_CREDENTIALS;
  directory: string;
  /**
   * One notification (`{ Records: [record] }`) per object created or removed, emitted as 'event'
   * with the request behind it: listeners get `(event, request?: S3EventRequest)`. The record is
   * shaped as s3rver shapes it, which is not how S3 sends it:
   * - `s3.object.key` is the key as written, not URL-encoded (S3 form-encodes it, `a b+c.csv` as
   *   `a+b%2Bc.csv`): it must not be decoded.
   * - `eventName` is s3rver's: `ObjectCreated:Put` (PutObject), `ObjectCreated:Post` for a form
   *   POST and a CompleteMultipartUpload alike (S3 names the latter
   *   `ObjectCreated:CompleteMultipartUpload`; `request.operation` tells them apart),
   *   `ObjectCreated:Copy`, `ObjectRemoved:Delete` (DeleteObject, and each key a DeleteObjects
   *   removed; a key that was not there sends nothing).
   * - `s3.bucket.arn` is `arn:aws:s3: : :<bucket>` (S3: `arn:aws:s3:::<bucket>`); the principal
   *   ids and the record's `x-amz-request-id` are made up (`request.requestId` is the request's).
   *   No `versionId`: one version per key.
   * - `s3.object.eTag` and `size` are the object's (a copy's, a multipart `-N` ETag), absent from a
   *   removal.
   * - `s3.object.sequencer` is fixed-width hex, greater for a later change of the key: a key's
   *   changes are committed one at a time, and their events are emitted in that order.
   * The runner (@laminar/local) turns these into S3's EventBridge events.
   */
  events: EventEmitter;
  /** Resolves once every event of the requests already answered has been emitted on `events`. */
  flushEvents(): Promise<void>;
  /**
   * Accepts another key pair besides `credentials` (requests signed with it pass): for clients that
   * have one set of keys for every service, such as functions beside an external DynamoDB.
   */
  acceptCredentials(credentials: { accessKeyId: string; secretAccessKey: string }): Promise<void>;
  stop(): Promise<void>;
}

/** The request behind an event (s3rver's records do not tell a multipart upload from a form POST). */
export interface S3EventRequest {
  operation: 'PutObject' | 'PostObject' | 'CopyObject' | 'CompleteMultipartUpload' | 'DeleteObject' | 'DeleteObjects' | string;
  /** The request's id, as S3 puts it in x-amz-request-id. */
  requestId: string;
  sourceIp: string;
}

const SERVER_SCRIPT = fileURLToPath(new URL('./s3-server.cjs', import.meta.url));

export async function startS3(options: S3EmulatorOptions = {}): Promise<S3Emulator> {
  const temporary = options.directory === undefined;
  const directory = options.directory ?? mkdtempSync(join(tmpdir(), 'laminar-s3-'));
  mkdirSync(directory, { recursive: true });
  const child: ChildProcess = fork(
    SERVER_SCRIPT,
    [JSON.stringify({ directory, port: options.port ?? 0, buckets: options.buckets ?? [] })],
    { execArgv: ['--openssl-legacy-provider'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const events = new EventEmitter();
  const flushes = new Map<number, () => void>();
  let flushId = 0;
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (m: { type: string; port?: number; message?: string; event?: unknown; request?: S3EventRequest; id?: number }) => {
      if (m.type === 'ready') resolve(m.port as number);
      else if (m.type === 'error') reject(new Error(`embedded S3 failed to start: ${m.message}`));
      else if (m.type === 'event') events.emit('event', m.event, m.request);
      else if (m.type === 'flushed') {
        flushes.get(m.id as number)?.();
        flushes.delete(m.id as number);
      }
    });
    child.once('exit', (code) => reject(new Error(`embedded S3 exited (${code}) before it was ready: ${stderr}`)));
  });
  // A server that goes away has nothing more to emit.
  child.once('exit', () => {
    for (const done of flushes.values()) done();
    flushes.clear();
  });
  /** Sends the server a message and resolves on its answer (at once when it has gone away). */
  const ask = (message: Record<string, unknown>): Promise<void> => {
    if (child.exitCode !== null || !child.connected) return Promise.resolve();
    const id = ++flushId;
    return new Promise<void>((resolve) => {
      flushes.set(id, resolve);
      // The channel can close between the check above and this send (the emulator exiting): then
      // there is nothing left to do, and an unhandled send error would crash the caller.
      child.send({ ...message, id }, (err) => {
        if (!err) return;
        flushes.delete(id);
        resolve();
      });
    });
  };
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: S3RVER_CREDENTIALS,
    directory,
    events,
    flushEvents: () => ask({ type: 'flush' }),
    acceptCredentials: ({ accessKeyId, secretAccessKey }) => ask({ type: 'accept-key', accessKeyId, secretAccessKey }),
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 2000).unref();
      }).then(() => {
        if (temporary) rmSync(directory, { recursive: true, force: true });
      });
      return stopped;
    },
  };
}
