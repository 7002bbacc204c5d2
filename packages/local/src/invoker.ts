import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type NodeBinary, nodeForRuntime } from '@laminar/lambda-node';
import { type FunctionSpec, PLATFORM_ENV, STAGE_ENV } from '@laminar/spec';
import {
  DEFAULT_INIT_TIMEOUT_MS,
  ExecutionEnvironment,
  traceHeader,
  type LambdaError,
  type LogLine,
} from './environment.ts';
import { pruneOrphans } from './ephemeral-storage.ts';
import { type Output, silentOutput } from './output.ts';
import {
  billedDurationMs,
  bytesToMb,
  formatEnd,
  formatInitReport,
  formatInitStart,
  formatReport,
  formatStart,
  type InvocationReport,
  timeoutMessage,
} from './report.ts';
import { type LayerArtifact, lambdaPaths, prepareLayers } from './layers.ts';
import { stateDirectory } from './state-directory.ts';
import { prepareTaskRoot } from './task-root.ts';
import { traceIdOf } from './xray-daemon.ts';

/** What the invoker needs to know about one function. */
export interface FunctionDeployment {
  spec: FunctionSpec;
  zipPath: string;
  /** The spec's env, resolved for this place (logical buckets → real names). */
  env: Record<string, string>;
  /** The spec's layers in order, as built zips; mounted where Lambda's /opt would be. */
  layers?: LayerArtifact[];
  /** The function's folder in this checkout: stack frames name its sources there. */
  sourceDir?: string;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export interface InvokerOptions {
  /** Repository root. */
  root: string;
  /** Unzipped code (`envs/`), layers (`layers/`) and each environment's /tmp (`tmp/`) go here (state-directory.ts); `<root>/.laminar` when absent. */
  stateDirectory?: string;
  functions: FunctionDeployment[];
  region: string;
  credentials?: AwsCredentials;
  /** Service endpoints and the like, given to every function (e.g. AWS_ENDPOINT_URL_S3). */
  serviceEnv?: Record<string, string>;
  output?: Output;
  /** Where functions send X-Ray segments (the runner's collector); absent: tracing off. */
  xrayDaemonAddress?: string;
  /** Replaces spec.timeoutS (tests). */
  timeoutMs?: number | ((spec: FunctionSpec) => number);
  initTimeoutMs?: number;
  /** Environments per function at once; more concurrent invocations are throttled, as by Lambda. */
  maxConcurrency?: number;
  accountId?: string;
  memorySampleMs?: number;
}

/**
 * The invoker runs one attempt to completion whatever the type and records it; "Event" invocations
 * get Lambda's async queue, retries and destinations from the AsyncInvoker (async.ts) in front of it.
 */
export type InvocationType = 'RequestResponse' | 'Event' | 'DryRun';

/** What caused an invocation, when not a direct call. */
export type InvocationTrigger =
  | { kind: 'schedule'; ruleName: string; expression: string; scheduledTime: string }
  | { kind: 's3'; ruleName: string; eventId: string; detailType: string; bucket: string; key: string }
  | { kind: 'replay'; queue: string; messageId: string }
  /** A Kafka event source mapping's batch. */
  | { kind: 'kafka'; groupId: string; batch: number; records: number; topics: string[] };

export interface InvokeOptions {
  invocationType?: InvocationType;
  clientContext?: unknown;
  trigger?: InvocationTrigger;
  /** Lambda keeps an async event's request id across its retries; a new one when absent. */
  requestId?: string;
  /** Which attempt of an async event this is (1 = the first), recorded on the result. */
  attempt?: number;
}

export interface InvokeResult {
  requestId: string;
  functionName: string;
  invocationType: InvocationType;
  trigger?: InvocationTrigger;
  attempt?: number;
  /** The handler's return value (JSON round-tripped, as Lambda returns it). */
  result?: unknown;
  /** Set when the invocation failed, in Lambda's shape. */
  error?: LambdaError;
  report: InvocationReport;
  logs: LogLine[];
  /** The X-Ray trace id ("1-…-…") the invocation ran under, when traces are collected. */
  traceId?: string;
  /** The runner's stop killed the environment under way: the error is the stop's, not a failure of the function's own. */
  interrupted?: true;
}

/** An invocation as the console lists it: the result, and when it ran. */
export interface InvocationRecord extends InvokeResult {
  startedAt: string;
  finishedAt: string;
}

/** Lambda's largest synchronous invocation payload. */
export const MAX_REQUEST_BYTES = 6_291_456;
/** An asynchronous invocation's payload limit (Lambda raised it from 256 KB to 1 MB in 2025). */
export const MAX_ASYNC_REQUEST_BYTES = 1_048_576;

export class UnknownFunctionError extends Error {
  override name = 'ResourceNotFoundException';
  constructor(
    readonly functionName: string,
    readonly known: string[],
  ) {
    super(
      `Function not found: ${functionName}. Known functions: ${known.length ? known.join(', ') : '(none: no functions/*/spec.ts)'}`,
    );
  }
}

/** The invoker was stopped (the runner is shutting down): nothing more runs. */
export class InvokerStoppedError extends Error {
  constructor() {
    super('the invoker is stopped');
  }
}

export class ThrottledError extends Error {
  override name = 'TooManyRequestsException';
}

export class RequestTooLargeError extends Error {
  override name = 'RequestTooLargeException';
}

interface Pool {
  deployment: FunctionDeployment;
  idle: ExecutionEnvironment[];
  busy: Set<ExecutionEnvironment>;
  /** Environments being created: they count against the concurrency limit before they exist. */
  starting: number;
}

/**
 * Invokes functions the way Lambda does: a warm environment when one is idle, else a new one
 * (cold start), one invocation per environment at a time.
 */
export class Invoker {
  private readonly pools = new Map<string, Pool>();
  /** Which build (task root + layers folder) each environment runs. */
  private readonly builds = new WeakMap<ExecutionEnvironment, string>();
  private readonly output: Output;
  private stopped = false;
  /** Environments stop() found busy: what they return failed because the runner stopped. */
  private readonly cutShort = new WeakSet<ExecutionEnvironment>();
  /** Runtimes whose Node this process's stands in for (said once each). */
  private readonly standIns = new Set<FunctionSpec['runtime']>();

  constructor(private readonly options: InvokerOptions) {
    this.output = options.output ?? silentOutput;
    for (const d of options.functions) this.pools.set(d.spec.name, { deployment: d, idle: [], busy: new Set(), starting: 0 });
    // A runner that was killed left its environments' /tmp folders behind.
    pruneOrphans(this.tmpRoot);
  }

  functionNames(): string[] {
    return [...this.pools.keys()].sort();
  }

  /** Process ids of the live environments of one function (idle and busy). */
  environments(functionName: string): { pid: number | undefined; state: string }[] {
    const pool = this.pools.get(functionName);
    if (!pool) return [];
    return [...pool.idle, ...pool.busy].map((e) => ({ pid: e.pid, state: e.state }));
  }

  private readonly listeners = new Set<(record: InvocationRecord) => void>();

  /** Calls `listener` with every invocation that ran (failed ones included) from now on; returns the unsubscribe. */
  onInvocation(listener: (record: InvocationRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async invoke(functionName: string, event: unknown, options: InvokeOptions = {}): Promise<InvokeResult> {
    const startedAt = new Date().toISOString();
    const result = await this.run(functionName, event, options);
    if (this.listeners.size > 0) {
      const record: InvocationRecord = { ...result, startedAt, finishedAt: new Date().toISOString() };
      for (const l of this.listeners) l(record);
    }
    return result;
  }

  private async run(functionName: string, event: unknown, options: InvokeOptions): Promise<InvokeResult> {
    if (this.stopped) throw new InvokerStoppedError();
    const pool = this.pools.get(functionName);
    if (!pool) throw new UnknownFunctionError(functionName, this.functionNames());
    const eventJson = JSON.stringify(event === undefined ? null : event);
    if (Buffer.byteLength(eventJson) > MAX_REQUEST_BYTES) {
      throw new RequestTooLargeError(`Request must be smaller than ${MAX_REQUEST_BYTES} bytes for the InvokeFunction operation`);
    }
    const invocationType = options.invocationType ?? 'RequestResponse';
    if (invocationType !== 'RequestResponse' && invocationType !== 'Event' && invocationType !== 'DryRun') {
      throw new Error(`invocation type ${String(invocationType)} is not supported (RequestResponse, Event, DryRun)`);
    }
    const requestId = options.requestId ?? randomUUID();
    const record = {
      requestId,
      functionName,
      invocationType,
      ...(options.trigger ? { trigger: options.trigger } : {}),
      ...(options.attempt !== undefined ? { attempt: options.attempt } : {}),
    };
    const { spec } = pool.deployment;
    // Hundredths of a millisecond, as Lambda prints them.
    const round = (n: number) => Math.round(n * 100) / 100;
    const report = (r: Omit<InvocationReport, 'memorySizeMb' | 'billedMs'>): InvocationReport => ({
      ...r,
      durationMs: round(r.durationMs),
      ...(r.initDurationMs !== undefined ? { initDurationMs: round(r.initDurationMs) } : {}),
      memorySizeMb: spec.memoryMb,
      billedMs: billedDurationMs(r.durationMs, r.initDurationMs),
    });
    if (invocationType === 'DryRun') {
      return { ...record, result: null, report: report({ durationMs: 0, maxMemoryUsedMb: 0, cold: false }), logs: [] };
    }

    const print = (line: string) => this.output.line(functionName, line);
    const configuredTimeoutMs = this.timeoutFor(spec);
    let env = await this.takeIdle(pool);
    let initDurationMs: number | undefined;
    /** The init Lambda ran again inside this invocation, when the first one outlasted its 10 s. */
    let suppressedInitMs: number | undefined;
    const logs: LogLine[] = [];
    if (!env) {
      const running = pool.busy.size + pool.starting;
      if (running >= (this.options.maxConcurrency ?? 10)) {
        throw new ThrottledError(`Rate Exceeded: ${functionName} already runs ${running} environments`);
      }
      const first = await this.startBusy(pool);
      env = first;
      print(formatInitStart(spec.runtime));
      const initLimitMs = this.options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS;
      let init = await this.releasingOnThrow(pool, first, () => first.init(initLimitMs));
      initDurationMs = init.initDurationMs;
      logs.push(...init.logs);
      if (!init.ok && init.cause === 'timeout') {
        // Lambda gives the init phase 10 s; past them it starts the init again inside the first
        // invocation, on the function's own timeout (a "suppressed init": the REPORT then has no
        // Init Duration, its Duration counts the init). A module scope slower than 10 s works, and
        // one that was only slow the first time (a cold cache, a slow connection) works within a
        // timeout shorter than the init phase too.
        print(formatInitReport(init.initDurationMs, 'timeout', undefined));
        // Killed while still counted busy, and handed to the new one with no await between, so the
        // concurrency slot is never free for another invocation to take.
        await env.kill();
        pool.busy.delete(env);
        env = await this.startBusy(pool);
        const fresh = env;
        const retried = await this.releasingOnThrow(pool, fresh, () => fresh.init(configuredTimeoutMs));
        logs.push(...retried.logs);
        // Timed out again, it is the invocation that timed out, and Lambda says so in those words.
        init =
          !retried.ok && retried.cause === 'timeout'
            ? { ...retried, error: { ...retried.error, errorMessage: `RequestId: ${requestId} Error: ${timeoutMessage(configuredTimeoutMs)}` } }
            : retried;
        initDurationMs = undefined;
        suppressedInitMs = retried.initDurationMs;
      }
      if (!init.ok) {
        pool.busy.delete(env);
        const status = init.cause === 'timeout' ? 'timeout' : 'error';
        const errorType =
          init.cause === 'oom'
            ? 'Runtime.OutOfMemory'
            : init.cause === 'error'
              ? init.error.errorType.startsWith('Runtime.')
                ? init.error.errorType
                : 'Runtime.Unknown'
              : undefined;
        if (suppressedInitMs === undefined) print(formatInitReport(init.initDurationMs, status, errorType));
        print(formatStart(requestId));
        if (suppressedInitMs !== undefined && init.cause === 'timeout') print(`${new Date().toISOString()} ${requestId} ${timeoutMessage(configuredTimeoutMs)}`);
        print(formatEnd(requestId));
        const r = report({
          durationMs: init.initDurationMs,
          maxMemoryUsedMb: Math.min(bytesToMb(env.peakMemoryBytes), spec.memoryMb),
          cold: true,
          status,
          ...(errorType ? { errorType } : {}),
          initError: true,
        });
        print(formatReport(requestId, r));
        return { ...record, error: init.error, report: r, logs, ...(this.cutShort.has(env) ? { interrupted: true as const } : {}) };
      }
    } else {
      pool.busy.add(env);
    }

    print(formatStart(requestId));
    // After a suppressed init, what is left of the function's timeout.
    const timeoutMs = Math.max(1, configuredTimeoutMs - (suppressedInitMs ?? 0));
    const header = this.options.xrayDaemonAddress ? traceHeader(true) : undefined;
    const traceId = traceIdOf(header);
    const running = env;
    const outcome = await this.releasingOnThrow(pool, running, () =>
      running.invoke({
        requestId,
        eventJson,
        timeoutMs,
        functionTimeoutMs: configuredTimeoutMs,
        ...(header ? { traceHeader: header } : {}),
        invokedFunctionArn: `arn:aws:lambda:${this.options.region}:${this.options.accountId ?? '000000000000'}:function:${functionName}`,
        clientContext: options.clientContext,
      }),
    );
    pool.busy.delete(env);
    if (env.state === 'ready' && !this.stopped) pool.idle.push(env);
    else await env.kill();
    logs.push(...outcome.logs);

    if (outcome.kind === 'timeout') print(`${new Date().toISOString()} ${requestId} ${timeoutMessage(configuredTimeoutMs)}`);
    print(formatEnd(requestId));
    const platformError = outcome.kind === 'timeout' || outcome.kind === 'oom' || outcome.kind === 'exit';
    const r = report({
      durationMs: outcome.durationMs + (suppressedInitMs ?? 0),
      // Lambda never reports more than the function's memory, even for the invocation it killed.
      maxMemoryUsedMb: Math.min(bytesToMb(outcome.maxMemoryUsedBytes), spec.memoryMb),
      ...(initDurationMs !== undefined ? { initDurationMs } : {}),
      cold: initDurationMs !== undefined || suppressedInitMs !== undefined,
      ...(platformError
        ? {
            status: outcome.kind === 'timeout' ? ('timeout' as const) : ('error' as const),
            ...(outcome.kind === 'timeout' ? {} : { errorType: outcome.kind === 'oom' ? 'Runtime.OutOfMemory' : 'Runtime.ExitError' }),
          }
        : {}),
    });
    print(formatReport(requestId, r));
    if (outcome.kind === 'success') {
      return { ...record, result: JSON.parse(outcome.payload) as unknown, report: r, logs, ...(traceId ? { traceId } : {}) };
    }
    return { ...record, error: outcome.error, report: r, logs, ...(traceId ? { traceId } : {}), ...(this.cutShort.has(env) ? { interrupted: true as const } : {}) };
  }

  /** A new environment, counted as starting while it is made and busy once it is. */
  private async startBusy(pool: Pool): Promise<ExecutionEnvironment> {
    pool.starting++;
    let env: ExecutionEnvironment;
    try {
      env = await this.createEnvironment(pool);
    } finally {
      pool.starting--;
    }
    if (this.stopped) throw new InvokerStoppedError();
    pool.busy.add(env);
    return env;
  }

  /**
   * Runs `work` on a busy environment; if it throws (the environment could not even start, or take
   * the invocation), the environment is killed and gives back its concurrency slot.
   */
  private async releasingOnThrow<T>(pool: Pool, env: ExecutionEnvironment, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      pool.busy.delete(env);
      await env.kill();
      throw error;
    }
  }

  /** Kills every environment. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.pools.values()].flatMap((p) => [...p.idle, ...p.busy]);
    for (const p of this.pools.values()) for (const e of p.busy) this.cutShort.add(e);
    for (const p of this.pools.values()) p.idle = [];
    await Promise.all(all.map((e) => e.kill()));
  }

  private timeoutFor(spec: FunctionSpec): number {
    const t = this.options.timeoutMs;
    if (typeof t === 'number') return t;
    if (typeof t === 'function') return t(spec);
    return spec.timeoutS * 1000;
  }

  /**
   * The most recently used idle environment of the current build, as Lambda prefers warm ones.
   * Environments of an older build are discarded, as Lambda does when code is updated.
   */
  private async takeIdle(pool: Pool): Promise<ExecutionEnvironment | undefined> {
    pool.idle = pool.idle.filter((e) => e.state === 'ready');
    if (pool.idle.length === 0) return undefined;
    const { build } = await this.prepare(pool.deployment);
    const stale = pool.idle.filter((e) => this.builds.get(e) !== build);
    pool.idle = pool.idle.filter((e) => this.builds.get(e) === build);
    await Promise.all(stale.map((e) => e.kill()));
    return pool.idle.pop();
  }

  private get stateDirectory(): string {
    return this.options.stateDirectory ?? stateDirectory(this.options.root, {});
  }

  /** Each environment's /tmp folder is made here (ephemeral-storage.ts). */
  private get tmpRoot(): string {
    return join(this.stateDirectory, 'tmp');
  }

  private get envsDir(): string {
    return join(this.stateDirectory, 'envs');
  }

  /** The unzipped code and layers of the current build (reused while the zips are unchanged). */
  private async prepare(d: FunctionDeployment): Promise<{ taskRoot: string; optDir: string | undefined; build: string }> {
    const [{ dir: taskRoot }, optDir] = await Promise.all([
      prepareTaskRoot(this.envsDir, d.spec.name, d.zipPath, d.sourceDir),
      prepareLayers(join(this.stateDirectory, 'layers'), d.layers ?? []),
    ]);
    return { taskRoot, optDir, build: `${taskRoot}\n${optDir ?? ''}` };
  }

  /** The runtime's Node for a function; says once per runtime when this process's Node stands in. */
  private nodeFor(spec: FunctionSpec): NodeBinary {
    const node = nodeForRuntime(spec.runtime);
    if (!node.exact && !this.standIns.has(spec.runtime)) {
      this.standIns.add(spec.runtime);
      this.output.line(spec.name, `notice: ${node.note}`, 'stderr');
    }
    return node;
  }

  private async createEnvironment(pool: Pool): Promise<ExecutionEnvironment> {
    const { spec, env: specEnv } = pool.deployment;
    const { taskRoot, optDir, build } = await this.prepare(pool.deployment);
    const node = this.nodeFor(spec);
    const env = new ExecutionEnvironment({
      functionName: spec.name,
      nodePath: node.path,
      taskRoot,
      handler: `index.${spec.handler}`,
      memoryMb: spec.memoryMb,
      env: this.childEnv(spec, specEnv, taskRoot, optDir),
      onLog: (line) => this.output.line(spec.name, line.text, line.stream),
      onUnexpectedExit: (why) => this.output.line(spec.name, `environment exited between invocations: ${why}`),
      ...(this.options.memorySampleMs ? { memorySampleMs: this.options.memorySampleMs } : {}),
      ephemeralStorage: { root: this.tmpRoot, limitMb: spec.ephemeralStorageMb },
      onStorageFull: (used, limitMb) =>
        this.output.line(
          spec.name,
          `/tmp holds ${(Math.ceil((used / 2 ** 20) * 10) / 10).toFixed(1)} MB, more than the function's ephemeralStorageMb (${limitMb} MB): on Lambda, writes past it fail with ENOSPC (no space left on device)`,
          'stderr',
        ),
    });
    this.builds.set(env, build);
    return env;
  }

  /**
   * The function sees what Lambda gives it, not the runner's environment: basics, the spec's env,
   * Lambda's reserved variables, credentials and the endpoints of this place.
   */
  private childEnv(spec: FunctionSpec, specEnv: Record<string, string>, taskRoot: string, optDir: string | undefined): Record<string, string> {
    const { region, credentials, serviceEnv } = this.options;
    const basics: Record<string, string> = { LANG: 'en_US.UTF-8' };
    for (const k of ['PATH', 'HOME', 'SYSTEMROOT', 'TMPDIR']) {
      const v = process.env[k];
      if (v !== undefined) basics[k] = v;
    }
    return {
      ...basics,
      // Lambda lets a function override these two, so they come before the spec's env.
      ...lambdaPaths({ taskRoot, optDir, runtime: spec.runtime }),
      ...specEnv,
      ...(serviceEnv ?? {}),
      AWS_LAMBDA_FUNCTION_NAME: spec.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime}`,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      LAMBDA_TASK_ROOT: taskRoot,
      _HANDLER: `index.${spec.handler}`,
      TZ: ':UTC',
      // As infra sets it: resolveEnv's (the platform's flags, then the spec's), never the runner's own.
      NODE_OPTIONS: specEnv.NODE_OPTIONS ?? PLATFORM_ENV.NODE_OPTIONS,
      // Infra sets the stage on every function and the runtime makes it the `stage` dimension of
      // each metric: local EMF lines carry stage=local, as the local resources' names do.
      [STAGE_ENV]: 'local',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // Lambda's X-Ray daemon address, here the runner's collector; without one, tracing is off.
      ...(this.options.xrayDaemonAddress
        ? { AWS_XRAY_DAEMON_ADDRESS: this.options.xrayDaemonAddress, AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR' }
        : { POWERTOOLS_TRACE_ENABLED: 'false' }),
      ...(credentials
        ? {
            AWS_ACCESS_KEY_ID: credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
            ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
          }
        : {}),
    };
  }
}
