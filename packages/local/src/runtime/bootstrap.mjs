// The execution environment's runtime: the runner forks this file (plain JavaScript, no TypeScript
// loader) with cwd = the unzipped task root, as Lambda's Node.js runtime starts in /var/task.
// Init imports the handler module once; invocations then arrive one at a time over IPC.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { createContext } from './context.mjs';
import { toInitError, toLambdaError } from './errors.mjs';

/** Written to stdout and stderr when a phase ends, so the runner knows it has every log line. */
const FLUSH_MARKER = '\u001elaminar:flush:';
/** Lambda's limit for a synchronous response. */
const MAX_RESPONSE_BYTES = 6_291_556;
/**
 * Lambda's Node.js runtime exits with these codes once it has reported an uncaught exception or an
 * unhandled rejection (aws-lambda-nodejs-runtime-interface-client, Runtime.js): the status Lambda
 * names when such an error belongs to no invocation in progress.
 */
const UNCAUGHT_EXIT_CODE = 129;
const UNHANDLED_REJECTION_EXIT_CODE = 128;
/** What Lambda's runtime throws in place of JSON's own error when a result cannot be serialized. */
const UNSTRINGIFIABLE = 'Unable to stringify response body';

const taskRoot = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
const handlerSetting = process.env._HANDLER ?? 'index.handler';
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'function';
const memorySizeMb = Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? 128);
const logGroupName = process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? `/aws/lambda/${functionName}`;
const logStreamName = process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? '';

/** @type {string | undefined} */
let currentRequestId;
/** Set once a fatal error is being reported: the process is about to exit and takes no invocation. */
let dying = false;

function send(message) {
  return new Promise((resolve) => {
    if (!process.connected) return resolve(undefined);
    process.send(message, undefined, {}, () => resolve(undefined));
  });
}

function flush(id) {
  const line = `${FLUSH_MARKER}${id}\n`;
  return Promise.all([
    new Promise((resolve) => process.stdout.write(line, () => resolve(undefined))),
    new Promise((resolve) => process.stderr.write(line, () => resolve(undefined))),
  ]);
}

// Lambda's runtime rewrites console output as "timestamp<TAB>requestId<TAB>LEVEL<TAB>message".
// Powertools' logger writes to process.stdout itself, so its JSON lines stay untouched, as in Lambda.
function patchConsole() {
  const levels = { debug: 'DEBUG', info: 'INFO', log: 'INFO', warn: 'WARN', error: 'ERROR', trace: 'TRACE' };
  for (const [method, level] of Object.entries(levels)) {
    const stream = level === 'WARN' || level === 'ERROR' ? process.stderr : process.stdout;
    console[method] = (...args) => {
      stream.write(`${new Date().toISOString()}\t${currentRequestId ?? 'undefined'}\t${level}\t${format(...args)}\n`);
    };
  }
}

async function fatal(error, errorType, exitCode) {
  if (dying) return;
  dying = true;
  // The invocation in progress when it was thrown, if any, read now: an invoke message that
  // arrives while the report is written must not make an earlier invocation's leftover its own.
  const requestId = currentRequestId;
  const body = { ...toLambdaError(error), ...(errorType ? { errorType } : {}) };
  console.error(requestId ? 'Invoke Error' : 'Uncaught Exception', JSON.stringify(errorLog(body)));
  await flush(requestId ?? 'fatal');
  await send({ type: 'fatal', requestId, error: body });
  process.exit(exitCode);
}

/** Lambda's log line for an error names the stack "stack"; the response body names it "trace". */
function errorLog(error) {
  return { errorType: error.errorType, errorMessage: error.errorMessage, stack: error.trace };
}

function handlerNotFound(message, errorType = 'Runtime.HandlerNotFound') {
  const error = new Error(message);
  error.name = errorType;
  return error;
}

async function loadHandler() {
  const match = /^([^.]*)\.(.*)$/.exec(handlerSetting);
  if (!match) throw handlerNotFound(`Bad handler ${handlerSetting}`, 'Runtime.MalformedHandlerName');
  const [, modulePath, handlerPath] = match;
  const file = ['.js', '.mjs', '.cjs'].map((ext) => join(taskRoot, `${modulePath}${ext}`)).find((f) => existsSync(f));
  if (!file) {
    const error = new Error(`Cannot find module '${modulePath}'`);
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  const mod = await import(pathToFileURL(file).href);
  let fn = mod;
  for (const part of handlerPath.split('.')) fn = fn?.[part];
  if (typeof fn !== 'function') throw handlerNotFound(`${handlerSetting} is undefined or not exported`);
  return fn;
}

/** Promise handlers resolve with their value; callback handlers (and context.done) settle on the callback; anything else with null. */
function callHandler(fn, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err);
      else resolve(result);
    };
    context.done = done;
    context.succeed = (result) => done(null, result);
    context.fail = (err) => done(err ?? 'handled');
    try {
      const returned = fn(event, context, done);
      if (returned && typeof returned.then === 'function') returned.then((r) => done(null, r), (e) => done(e));
      // Lambda's runtime reads a return value only from a promise: a plain function's value is
      // dropped and the invocation answers null (once the event loop is empty, which here the
      // runner's channel never is).
      else if (fn.length < 3) done(null, null);
    } catch (err) {
      done(err);
    }
  });
}

async function invoke(message, handler) {
  currentRequestId = message.requestId;
  process.env._X_AMZN_TRACE_ID = message.traceId;
  const context = createContext({
    requestId: message.requestId,
    functionName,
    invokedFunctionArn: message.invokedFunctionArn,
    memorySizeMb,
    logGroupName,
    logStreamName,
    deadlineMs: message.deadlineMs,
    identity: message.identity,
    clientContext: message.clientContext,
  });
  const started = performance.now();
  let outcome;
  try {
    const result = await callHandler(handler, JSON.parse(message.eventJson), context);
    let payload;
    try {
      payload = JSON.stringify(result === undefined ? null : result);
    } catch {
      // A BigInt or a cycle: Lambda's runtime reports its own plain Error, not JSON's TypeError.
      throw new Error(UNSTRINGIFIABLE);
    }
    if (Buffer.byteLength(payload) > MAX_RESPONSE_BYTES) {
      const error = new Error(`Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`);
      error.name = 'Function.ResponseSizeTooLarge';
      throw error;
    }
    outcome = { ok: true, payload };
  } catch (err) {
    const error = toLambdaError(err);
    console.error('Invoke Error', JSON.stringify(errorLog(error)));
    outcome = { ok: false, error };
  }
  const durationMs = performance.now() - started;
  await flush(message.requestId);
  currentRequestId = undefined;
  delete process.env._X_AMZN_TRACE_ID;
  await send({ type: 'result', requestId: message.requestId, durationMs, maxRssKb: process.resourceUsage().maxRSS, ...outcome });
}

async function main() {
  patchConsole();
  // The runner owns this process: when it goes away, so does the environment.
  process.on('disconnect', () => process.exit(0));
  // Ctrl-C in a terminal reaches the whole process group; the runner decides when environments end.
  process.on('SIGINT', () => {});
  process.on('uncaughtException', (err) => void fatal(err, undefined, UNCAUGHT_EXIT_CODE));
  process.on('unhandledRejection', (reason) => void fatal(reason, 'Runtime.UnhandledPromiseRejection', UNHANDLED_REJECTION_EXIT_CODE));

  // Where /proc is missing the runner cannot sample this process's memory, so it reports it itself.
  if (process.argv.includes('--report-memory')) {
    setInterval(() => void send({ type: 'memory', maxRssKb: process.resourceUsage().maxRSS }), 25).unref();
  }

  let handler;
  try {
    handler = await loadHandler();
  } catch (err) {
    const error = toInitError(err);
    console.error('Uncaught Exception', JSON.stringify(errorLog(error)));
    await flush('init');
    await send({ type: 'initError', error, maxRssKb: process.resourceUsage().maxRSS });
    process.exit(UNCAUGHT_EXIT_CODE);
  }
  await flush('init');

  let busy = false;
  process.on('message', (message) => {
    // The runtime is going down with an error that is not this invocation's: it never starts, and
    // the runner reports the exit.
    if (message?.type !== 'invoke' || dying) return;
    if (busy) {
      void send({ type: 'result', requestId: message.requestId, durationMs: 0, ok: false, error: { errorType: 'Runtime.Busy', errorMessage: 'an invocation is already running in this environment', trace: [] } });
      return;
    }
    busy = true;
    invoke(message, handler).finally(() => {
      busy = false;
    });
  });
  await send({ type: 'ready', maxRssKb: process.resourceUsage().maxRSS });
}

await main();
