import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { lambdaNodeArgs } from '@laminar/lambda-node';
import type { LambdaError } from './runtime/errors.mjs';
import { EphemeralStorage } from './ephemeral-storage.ts';
import { timeoutMessage } from './report.ts';

export type { LambdaError };

export interface LogLine {
  stream: 'stdout' | 'stderr';
  text: string;
  /** Epoch milliseconds when the runner read the line. */
  time: number;
}

export interface EnvironmentOptions {
  functionName: string;
  taskRoot: string;
  /** Lambda's handler setting, e.g. "index.handler". */
  handler: string;
  memoryMb: number;
  /** The child's whole environment, except the log stream name, which each environment makes. */
  env: Record<string, string>;
  /** Called for every line the function writes, as it arrives. */
  onLog?: (line: LogLine) => void;
  /** Called when the process ends outside an init or an invocation. */
  onUnexpectedExit?: (description: string) => void;
  memorySampleMs?: number;
  /**
   * The environment's own /tmp: a folder under `root` (its TMPDIR), removed with the environment,
   * measured while it runs. Without it the function shares the runner's temp folder.
   */
  ephemeralStorage?: { root: string; limitMb: number };
  /** Called once per environment when its /tmp holds more than the limit (Lambda's writes would fail). */
  onStorageFull?: (usedBytes: number, limitMb: number) => void;
  /** The node binary: the function's runtime's Node (@laminar/lambda-node). Default: this process's. */
  nodePath?: string;
  /**
   * Freeze the process between invocations, as Lambda does (default: on, where the platform can
   * also make a frozen process die with the runner: Linux with util-linux's setpriv).
   */
  freezeBetweenInvocations?: boolean;
}

export type InitOutcome =
  | { ok: true; initDurationMs: number; logs: LogLine[] }
  | {
      ok: false;
      initDurationMs: number;
      logs: LogLine[];
      error: LambdaError;
      /** What ended the init: the module threw, the init timed out, or memory ran out. */
      cause: 'error' | 'timeout' | 'oom';
    };

export type InvokeOutcome = {
  durationMs: number;
  logs: LogLine[];
  maxMemoryUsedBytes: number;
} & (
  | { kind: 'success'; payload: string }
  /** The handler threw or rejected: the environment stays warm, as in Lambda. */
  | { kind: 'handled'; error: LambdaError }
  /** The platform ended the invocation and discarded the environment. */
  | { kind: 'timeout' | 'oom' | 'exit'; error: LambdaError }
);

export interface InvokeRequest {
  requestId: string;
  eventJson: string;
  timeoutMs: number;
  /**
   * The function's configured timeout, which Lambda's timeout message names even when this
   * invocation had less (what a suppressed init left of it); `timeoutMs` when absent.
   */
  functionTimeoutMs?: number;
  invokedFunctionArn: string;
  /** Lambda's X-Ray trace header for this invocation; a fresh unsampled one when absent. */
  traceHeader?: string;
  clientContext?: unknown;
  identity?: unknown;
}

type State = 'new' | 'initializing' | 'ready' | 'busy' | 'dead';

interface ChildMessage {
  type: 'ready' | 'initError' | 'fatal' | 'result' | 'memory';
  requestId?: string;
  ok?: boolean;
  payload?: string;
  error?: LambdaError;
  durationMs?: number;
  maxRssKb?: number;
}

const BOOTSTRAP = fileURLToPath(new URL('./runtime/bootstrap.mjs', import.meta.url));
const FLUSH_MARKER = '\u001elaminar:flush:';
/** Lambda gives an on-demand INIT phase 10 s. */
export const DEFAULT_INIT_TIMEOUT_MS = 10_000;
/** How long to wait for log lines still in the pipes once a phase has ended. */
const LOG_DRAIN_MS = 1_000;
const HAS_PROC = existsSync('/proc/self/status');
/**
 * util-linux's setpriv (looked for once, when first needed), which starts node with a parent-death
 * signal. A frozen process cannot notice that its channel to the runner closed: were the runner
 * killed, it would stay stopped for good. With SIGKILL as its parent-death signal (which a stopped
 * process receives too) the kernel ends it with the runner. Node has no binding for
 * prctl(PR_SET_PDEATHSIG), hence the wrapper.
 */
let setprivLookup: { path: string | undefined } | undefined;
function setpriv(): string | undefined {
  setprivLookup ??= { path: process.platform === 'linux' ? ['/usr/bin/setpriv', '/bin/setpriv'].find(takesPdeathsig) : undefined };
  return setprivLookup.path;
}

/** Whether `path` is a setpriv that knows --pdeathsig (util-linux 2.33 and later; older ones refuse it). */
function takesPdeathsig(path: string): boolean {
  if (!existsSync(path)) return false;
  try {
    execFileSync(path, ['--pdeathsig', 'SIGKILL', '--', 'true'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/** /tmp is measured every this many memory samples (a folder walk costs more than reading /proc). */
const STORAGE_EVERY_SAMPLES = 25;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** "2026/01/31/[$LATEST]<32 hex>", the shape of a Lambda log stream name. */
export function newLogStreamName(now = new Date()): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

interface Phase {
  kind: 'init' | 'invoke';
  requestId: string;
  started: number;
  timer?: NodeJS.Timeout;
  finish: (m: PhaseEnd) => void;
}

type PhaseEnd =
  | { how: 'message'; message: ChildMessage }
  /** `fatal`: the error the runtime reported just before exiting (init failure, uncaught exception), if it did. */
  | { how: 'exit'; code: number | null; signal: NodeJS.Signals | null; fatal?: ChildMessage }
  /** The process never started (the node binary missing or not runnable). */
  | { how: 'not-started'; error: Error }
  | { how: 'killed'; reason: 'timeout' | 'oom' };

/**
 * One execution environment: a Node process running the bootstrap over the unzipped code. It runs
 * init once, then one invocation at a time, and is discarded after a timeout, OOM or crash.
 */
export class ExecutionEnvironment {
  readonly logStreamName = newLogStreamName();
  readonly id = this.logStreamName.slice(-8);
  state: State = 'new';
  /** Peak resident memory of the process so far (Lambda reports the environment's peak). */
  peakMemoryBytes = 0;
  private child: ChildProcess | undefined;
  private phase: Phase | undefined;
  private logs: LogLine[] = [];
  private stderrTail = '';
  private readonly markers = new Map<string, Set<string>>();
  private readonly markerWaiters = new Set<() => void>();
  private readonly streamsClosed = new Set<string>();
  private killedFor: 'timeout' | 'oom' | undefined;
  /** The error the runtime reported just before exiting (init failure, uncaught exception). */
  private fatalMessage: ChildMessage | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private exited: Promise<void> = Promise.resolve();
  private storage: EphemeralStorage | undefined;
  private samples = 0;
  /** Frozen between invocations (freezeBetweenInvocations, where the process dies with the runner). */
  private freezing = false;

  constructor(readonly options: EnvironmentOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The environment's /tmp folder, while it lives. */
  get tmpDir(): string | undefined {
    return this.storage?.path;
  }

  /** The most its /tmp held at a measurement (0 without ephemeralStorage). */
  get peakTmpBytes(): number {
    return this.storage?.peakBytes ?? 0;
  }

  private get limitBytes(): number {
    return this.options.memoryMb * 1024 * 1024;
  }

  async init(timeoutMs = DEFAULT_INIT_TIMEOUT_MS): Promise<InitOutcome> {
    if (this.state !== 'new') throw new Error(`environment ${this.id} was already started`);
    this.state = 'initializing';
    const started = performance.now();
    const { ephemeralStorage } = this.options;
    if (ephemeralStorage) this.storage = new EphemeralStorage(ephemeralStorage.root, this.options.functionName, ephemeralStorage.limitMb);
    const tmp = this.storage ? { TMPDIR: this.storage.path } : {};
    const node = this.options.nodePath ?? process.execPath;
    // Explicit, so the runner's own flags (tsx, vitest, inspectors) never leak into the function.
    const nodeArgs = lambdaNodeArgs(this.options.memoryMb);
    // A node that cannot run is spawned as it is, so that the spawn's own error says why.
    const wrapper = (this.options.freezeBetweenInvocations ?? true) && executable(node) ? setpriv() : undefined;
    this.freezing = wrapper !== undefined;
    const child = fork(BOOTSTRAP, HAS_PROC ? [] : ['--report-memory'], {
      cwd: this.options.taskRoot,
      env: { ...this.options.env, ...tmp, AWS_LAMBDA_LOG_STREAM_NAME: this.logStreamName },
      // setpriv execs node in its own place (same process, same channel), dying with the runner.
      ...(this.freezing
        ? { execPath: wrapper as string, execArgv: ['--pdeathsig', 'SIGKILL', '--', node, ...nodeArgs] }
        : { execPath: node, execArgv: nodeArgs }),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      // A spawn that fails never exits (below).
      child.once('error', () => {
        if (child.pid === undefined) resolve();
      });
    });
    this.readLines(child, 'stdout');
    this.readLines(child, 'stderr');
    child.on('message', (m: ChildMessage) => this.onMessage(m));
    child.on('exit', (code, signal) => this.onExit(code, signal));
    child.on('error', (error) => {
      // A spawn that fails (ENOENT, EACCES: the node binary) emits 'error' and never 'exit': end
      // the phase here, or init would wait forever (killing a process that never was does nothing).
      // Other errors (a failed IPC send) come with an 'exit' of their own.
      if (child.pid !== undefined) return;
      this.state = 'dead';
      this.storage?.remove();
      this.phase?.finish({ how: 'not-started', error });
    });

    const end = await this.runPhase('init', 'init', timeoutMs);
    const initDurationMs = performance.now() - started;
    const logs = this.takeLogs();
    if (end.how === 'message' && end.message.type === 'ready') {
      this.state = 'ready';
      this.freeze();
      return { ok: true, initDurationMs, logs };
    }
    await this.kill();
    if (end.how === 'killed' && end.reason === 'timeout') {
      return {
        ok: false,
        initDurationMs,
        logs,
        cause: 'timeout',
        error: { errorType: 'Sandbox.Timedout', errorMessage: `INIT phase ${timeoutMessage(timeoutMs)}`, trace: [] },
      };
    }
    if (this.isOom(end)) {
      return { ok: false, initDurationMs, logs, cause: 'oom', error: this.oomError(undefined, end) };
    }
    const error = (end.how === 'exit' ? end.fatal?.error : undefined) ?? { errorType: 'Runtime.ExitError', errorMessage: exitDescription(end), trace: [] };
    return { ok: false, initDurationMs, logs, cause: 'error', error };
  }

  async invoke(request: InvokeRequest): Promise<InvokeOutcome> {
    if (this.state !== 'ready') throw new Error(`environment ${this.id} is ${this.state}, not ready`);
    const child = this.child as ChildProcess;
    this.state = 'busy';
    const started = performance.now();
    const deadlineMs = Date.now() + request.timeoutMs;
    const ended = this.runPhase('invoke', request.requestId, request.timeoutMs);
    this.thaw();
    child.send({
      type: 'invoke',
      requestId: request.requestId,
      eventJson: request.eventJson,
      deadlineMs,
      invokedFunctionArn: request.invokedFunctionArn,
      traceId: request.traceHeader ?? traceHeader(false),
      clientContext: request.clientContext,
      identity: request.identity,
    });
    const end = await ended;
    const elapsed = performance.now() - started;
    const logs = this.takeLogs();
    if (end.how === 'message' && end.message.type === 'result') {
      this.state = 'ready';
      this.notePeak(end.message.maxRssKb);
      const durationMs = end.message.durationMs ?? elapsed;
      const base = { durationMs, logs, maxMemoryUsedBytes: this.peakMemoryBytes };
      // A spike between two samples still shows in the peak: Lambda would have killed it.
      if (this.peakMemoryBytes > this.limitBytes) {
        await this.kill();
        return { ...base, kind: 'oom', error: this.oomError(request.requestId, end) };
      }
      this.freeze();
      if (end.message.ok) return { ...base, kind: 'success', payload: end.message.payload ?? 'null' };
      return { ...base, kind: 'handled', error: end.message.error as LambdaError };
    }
    await this.kill();
    const base = { logs, maxMemoryUsedBytes: this.peakMemoryBytes };
    if (end.how === 'killed' && end.reason === 'timeout') {
      return {
        ...base,
        durationMs: request.timeoutMs,
        kind: 'timeout',
        error: {
          errorType: 'Sandbox.Timedout',
          errorMessage: `RequestId: ${request.requestId} Error: ${timeoutMessage(request.functionTimeoutMs ?? request.timeoutMs)}`,
          trace: [],
        },
      };
    }
    if (this.isOom(end)) return { ...base, durationMs: elapsed, kind: 'oom', error: this.oomError(request.requestId, end) };
    // An uncaught exception or unhandled rejection: the runtime reports it, then exits. It is this
    // invocation's error only when thrown while this invocation ran; one that an earlier invocation
    // left (a timer firing on thaw, before this one reached the handler) crashed the runtime, and
    // Lambda answers with the exit, as below.
    const fatal = end.how === 'exit' ? end.fatal : undefined;
    const error =
      fatal?.error && fatal.requestId === request.requestId
        ? fatal.error
        : {
            errorType: 'Runtime.ExitError',
            errorMessage: `RequestId: ${request.requestId} Error: ${exitDescription(end)}`,
            trace: [],
          };
    return { ...base, durationMs: elapsed, kind: 'exit', error };
  }

  /**
   * Stops the process once it has answered, as Lambda freezes an environment between invocations:
   * what the handler left running without awaiting it (a timer, an unawaited upload or flush) waits
   * for the next invocation, and an error it throws then fails that invocation, as on AWS, instead
   * of finishing unseen in the background.
   */
  private freeze(): void {
    if (this.freezing) this.child?.kill('SIGSTOP');
  }

  private thaw(): void {
    if (this.freezing) this.child?.kill('SIGCONT');
  }

  /** Ends the process at once (Lambda gives a discarded environment no grace either). */
  async kill(): Promise<void> {
    const child = this.child;
    this.state = 'dead';
    this.stopSampling();
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await this.exited;
    }
  }

  private runPhase(kind: Phase['kind'], requestId: string, timeoutMs: number): Promise<PhaseEnd> {
    return new Promise<PhaseEnd>((resolve) => {
      const phase: Phase = {
        kind,
        requestId,
        started: performance.now(),
        finish: (end) => {
          if (this.phase !== phase) return;
          clearTimeout(phase.timer);
          this.phase = undefined;
          this.stopSampling();
          this.sampleStorage();
          resolve(end);
        },
      };
      phase.timer = setTimeout(() => this.killFor('timeout'), timeoutMs);
      this.phase = phase;
      this.killedFor = undefined;
      this.startSampling();
    });
  }

  private killFor(reason: 'timeout' | 'oom'): void {
    if (this.killedFor) return;
    this.killedFor = reason;
    this.child?.kill('SIGKILL');
  }

  private onMessage(message: ChildMessage): void {
    if (message.type === 'memory') {
      this.notePeak(message.maxRssKb);
      if (this.phase && this.peakMemoryBytes > this.limitBytes) this.killFor('oom');
      return;
    }
    const phase = this.phase;
    if (!phase) return;
    this.notePeak(message.maxRssKb);
    // Wait for the flush markers: the pipes may still hold lines written before the message.
    const markerId = message.type === 'result' ? (message.requestId ?? phase.requestId) : message.type === 'ready' ? 'init' : undefined;
    if (markerId) {
      void this.waitForMarker(markerId).then(() => phase.finish({ how: 'message', message }));
    } else if (message.type === 'initError' || message.type === 'fatal') {
      // The child exits right after; keep the error and finish when its output is drained.
      this.fatalMessage = message;
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.state = 'dead';
    this.stopSampling();
    this.sampleMemory();
    // Lambda's /tmp goes with its environment.
    this.storage?.remove();
    const phase = this.phase;
    void this.waitForStreams().then(() => {
      if (phase) {
        const fatal = this.fatalMessage;
        if (this.killedFor) phase.finish({ how: 'killed', reason: this.killedFor });
        else phase.finish({ how: 'exit', code, signal, ...(fatal ? { fatal } : {}) });
      } else if (!this.killedFor && this.options.onUnexpectedExit && signal !== 'SIGKILL') {
        this.options.onUnexpectedExit(exitDescription({ how: 'exit', code, signal }));
      }
    });
  }

  private isOom(end: PhaseEnd): boolean {
    if (end.how === 'killed') return end.reason === 'oom';
    // V8 gives up before the sampler sees the limit when the heap, not the process, is full.
    return /heap out of memory|Fatal process out of memory/.test(this.stderrTail);
  }

  private oomError(requestId: string | undefined, end: PhaseEnd): LambdaError {
    const reason = end.how === 'killed' ? 'signal: killed' : 'signal: aborted (JavaScript heap out of memory)';
    const prefix = requestId ? `RequestId: ${requestId} Error: ` : '';
    return { errorType: 'Runtime.OutOfMemory', errorMessage: `${prefix}Runtime exited with error: ${reason}`, trace: [] };
  }

  private notePeak(maxRssKb: number | undefined): void {
    if (maxRssKb !== undefined) this.peakMemoryBytes = Math.max(this.peakMemoryBytes, maxRssKb * 1024);
  }

  private startSampling(): void {
    if (!HAS_PROC || this.sampler) return;
    this.sampler = setInterval(() => {
      this.sampleMemory();
      if (this.peakMemoryBytes > this.limitBytes) this.killFor('oom');
      if (++this.samples % STORAGE_EVERY_SAMPLES === 0) this.sampleStorage();
    }, this.options.memorySampleMs ?? 20);
    this.sampler.unref();
  }

  private stopSampling(): void {
    clearInterval(this.sampler);
    this.sampler = undefined;
  }

  private sampleStorage(): void {
    const storage = this.storage;
    if (storage?.sample()) this.options.onStorageFull?.(storage.peakBytes, storage.limitBytes / 2 ** 20);
  }

  /** VmHWM is the kernel's own peak RSS, so spikes between two samples are not missed. */
  private sampleMemory(): void {
    const pid = this.child?.pid;
    if (!HAS_PROC || pid === undefined) return;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
      if (hwm?.[1]) this.notePeak(Number(hwm[1]));
    } catch {
      // The process has just exited.
    }
  }

  private readLines(child: ChildProcess, stream: 'stdout' | 'stderr'): void {
    const source = child[stream];
    if (!source) return;
    source.setEncoding('utf8');
    let buffered = '';
    const emit = (text: string) => {
      const line: LogLine = { stream, text, time: Date.now() };
      this.logs.push(line);
      this.options.onLog?.(line);
    };
    source.on('data', (chunk: string) => {
      if (stream === 'stderr') this.stderrTail = (this.stderrTail + chunk).slice(-4096);
      buffered += chunk;
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const at = text.indexOf(FLUSH_MARKER);
        if (at >= 0) {
          if (at > 0) emit(text.slice(0, at));
          this.seeMarker(text.slice(at + FLUSH_MARKER.length), stream);
        } else {
          emit(text);
        }
        nl = buffered.indexOf('\n');
      }
    });
    source.on('close', () => {
      if (buffered) emit(buffered);
      buffered = '';
      this.streamsClosed.add(stream);
      this.wakeMarkerWaiters();
    });
  }

  private seeMarker(id: string, stream: string): void {
    const seen = this.markers.get(id) ?? new Set<string>();
    seen.add(stream);
    this.markers.set(id, seen);
    this.wakeMarkerWaiters();
  }

  private wakeMarkerWaiters(): void {
    for (const wake of [...this.markerWaiters]) wake();
  }

  private waitUntil(done: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        this.markerWaiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const check = () => {
        if (done()) finish();
      };
      // A process that never writes its marker (stdout closed by user code) must not hang the runner.
      const timer = setTimeout(finish, LOG_DRAIN_MS);
      this.markerWaiters.add(check);
      check();
    });
  }

  private waitForMarker(id: string): Promise<void> {
    return this.waitUntil(() => {
      const seen = this.markers.get(id);
      const ok = ['stdout', 'stderr'].every((s) => seen?.has(s) || this.streamsClosed.has(s));
      if (ok) this.markers.delete(id);
      return ok;
    });
  }

  private waitForStreams(): Promise<void> {
    return this.waitUntil(() => this.streamsClosed.size === 2);
  }

  private takeLogs(): LogLine[] {
    const logs = this.logs;
    this.logs = [];
    return logs;
  }
}

function exitDescription(end: PhaseEnd): string {
  if (end.how === 'exit') {
    if (end.signal) return `Runtime exited with error: signal: ${end.signal === 'SIGKILL' ? 'killed' : end.signal}`;
    if (end.code !== null && end.code !== 0) return `Runtime exited with error: exit status ${end.code}`;
    return 'Runtime exited without providing a reason';
  }
  if (end.how === 'killed') return `Runtime exited with error: signal: killed`;
  if (end.how === 'not-started') return `Runtime failed to start: ${end.error.message}`;
  return 'Runtime exited without providing a reason';
}

/** An X-Ray trace header like the one Lambda sets per invocation; sampled when something collects the segments. */
export function traceHeader(sampled: boolean): string {
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=${sampled ? 1 : 0};Lineage=1:${randomBytes(4).toString('hex')}:0`;
}
