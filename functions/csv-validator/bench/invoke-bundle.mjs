// Measured invocations of the built csv-validator bundle (dist zip's index.mjs), in a process of
// its own and without a TypeScript loader, so memory and CPU are what Lambda's would be: the first
// as after a cold start, the next ones as Lambda reuses the warm environment for later events.
// argv: <path to index.mjs> <JSON array of events>. The environment configures the handler.
import { readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [bundle, eventsJson] = process.argv.slice(2);

/** A thread's CPU time (utime + stime, fields 14 and 15 of proc(5), in clock ticks of 10 ms). */
function threadCpuMs(tid) {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU time of the main (JavaScript) thread alone, from Linux's per-thread accounting. */
const mainThreadCpuMs = () => threadCpuMs(process.pid);

/**
 * CPU time of the process's other threads (V8's compiler and GC workers, libuv's pool): on one
 * vCPU they take turns with the JavaScript thread, so their time is wall clock too.
 */
function otherThreadsCpuMs() {
  let sum = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    if (tid === String(process.pid)) continue;
    try {
      sum += threadCpuMs(tid);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return sum;
}

const { handler } = await import(pathToFileURL(bundle).href);
const rssAfterInitMb = process.memoryUsage().rss / 2 ** 20;
const end = Date.now() + 900_000;
const context = {
  awsRequestId: `bench-${Date.now()}`,
  functionName: 'csv-validator',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:csv-validator',
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '1024',
  logGroupName: '/aws/lambda/csv-validator',
  logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => end - Date.now(),
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

// Where the memory is when RSS peaks: sampled between batches (the handler yields to the event loop often).
const mb = (bytes) => +(bytes / 2 ** 20).toFixed(1);
let atPeak = { rssMb: 0 };
/** The invocation under way (0: the cold one), for the peak's record. */
let invocation = 0;
// RSS alone at each tick (process.memoryUsage() also walks V8's heap: a cost the handler would pay
// for the measurement), the whole breakdown only at a new peak.
const sampler = setInterval(() => {
  if (mb(process.memoryUsage.rss()) <= atPeak.rssMb) return;
  const m = process.memoryUsage();
  // Anonymous (the process's own) and file-backed (node's binary, shared libraries) resident pages.
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  atPeak = { rssMb: mb(m.rss), heapTotalMb: mb(m.heapTotal), heapUsedMb: mb(m.heapUsed), externalMb: mb(m.external), arrayBuffersMb: mb(m.arrayBuffers), rssAnonMb: mb(kb('RssAnon')), rssFileMb: mb(kb('RssFile')), invocation };
}, 20);

const runs = [];
for (const [i, event] of JSON.parse(eventsJson).entries()) {
  invocation = i;
  const cpu0 = mainThreadCpuMs();
  const others0 = otherThreadsCpuMs();
  const all0 = process.cpuUsage();
  const loop0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const result = await handler(event, { ...context, awsRequestId: `${context.awsRequestId}-${i}` });
  const ms = performance.now() - t0;
  const all = process.cpuUsage(all0);
  // Time the event loop sat waiting for I/O (the emulators' answers, the disk): wall clock the handler did not compute.
  const loopIdleMs = performance.eventLoopUtilization(loop0).idle;
  runs.push({ ms, mainThreadCpuMs: mainThreadCpuMs() - cpu0, processCpuMs: (all.user + all.system) / 1000, systemCpuMs: all.system / 1000, otherThreadsCpuMs: otherThreadsCpuMs() - others0, loopIdleMs, result });
}
clearInterval(sampler);
process.stdout.write(`\n${JSON.stringify({ bench: 'csv-validator', runs, rssAfterInitMb, peakRssMb: process.resourceUsage().maxRSS / 1024, atPeak })}\n`);
