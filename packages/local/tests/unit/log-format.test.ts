import { describe, expect, it } from 'vitest';
import { readableLogLine } from '../../src/log-format.ts';
import { prefixedOutput } from '../../src/output.ts';

// Lines as Powertools 2 writes them on Lambda (Logger with the Lambda context, Metrics' EMF).
const context = {
  timestamp: '2026-11-29T21:01:39.333Z',
  service: 'pdf-manifest',
  cold_start: true,
  function_arn: 'arn:aws:lambda:us-east-1:000000000000:function:pdf-manifest',
  function_memory_size: '256',
  function_name: 'pdf-manifest',
  function_request_id: '53cd62c6-9319-4632-9015-b02b9bdbead6',
  sampling_rate: 0,
  xray_trace_id: '1-6b0c92b3-4e06cbf96443cb5b1863998f',
};

describe('function log lines made readable', () => {
  it('a Powertools log: its level and message, then its own keys, without the context every line repeats', () => {
    const line = JSON.stringify({ level: 'INFO', message: 'manifest written', ...context, bucket: 'docs', prefix: 'reports/2026 Q1/', count: 1066, keys: ['a', 'b'], outputs: { silver: null } });
    expect(readableLogLine(line)).toBe('INFO manifest written bucket=docs prefix="reports/2026 Q1/" count=1066 keys=["a","b"] outputs={"silver":null}');
  });

  it('an error: its name, message and cause on the line, its stack frames on the lines after', () => {
    const error = {
      name: 'PoisonFileError',
      location: '/var/task/index.mjs:1:2',
      message: 'not a CSV file',
      stack: 'PoisonFileError: not a CSV file\n    at validate (/var/task/index.mjs:1:2)\n    at async process (/var/task/index.mjs:3:4)',
      cause: { name: 'TypeError', message: 'bad byte' },
    };
    const line = JSON.stringify({ level: 'ERROR', message: 'poison file', ...context, key: 'bronze/poison.csv', error });
    expect(readableLogLine(line).split('\n')).toEqual([
      'ERROR poison file key=bronze/poison.csv error=PoisonFileError: not a CSV file (cause: TypeError: bad byte)',
      '    at validate (/var/task/index.mjs:1:2)',
      '    at async process (/var/task/index.mjs:3:4)',
    ]);
  });

  it("shows an error's first three frames and counts the rest", () => {
    const stack = ['E: m', ...Array.from({ length: 5 }, (_, i) => `    at f${i} (x.js:${i}:1)`)].join('\n');
    const line = JSON.stringify({ level: 'ERROR', message: 'failed', ...context, error: { name: 'E', message: 'm', stack } });
    expect(readableLogLine(line).split('\n')).toEqual(['ERROR failed error=E: m', '    at f0 (x.js:0:1)', '    at f1 (x.js:1:1)', '    at f2 (x.js:2:1)', '    … 2 more frames (--raw-logs shows them)']);
  });

  it("keeps an error's other properties and its whole chain of causes, a string cause too", () => {
    const s3Denied = {
      name: 'AccessDenied',
      location: 'x.js:1:1',
      message: 'Access Denied',
      stack: 'AccessDenied: Access Denied\n    at f (x.js:1:1)',
      $metadata: { httpStatusCode: 403, requestId: 'R1' },
      Code: 'AccessDenied',
      cause: { name: 'HttpRequestError', message: 'fetch failed', kind: 'network', cause: { name: 'Error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' } },
    };
    const line = JSON.stringify({ level: 'ERROR', message: 'read failed', ...context, error: s3Denied });
    expect(readableLogLine(line).split('\n')[0]).toBe(
      'ERROR read failed error=AccessDenied: Access Denied error.$metadata={"httpStatusCode":403,"requestId":"R1"} error.Code=AccessDenied' +
        ' (cause: HttpRequestError: fetch failed {kind=network} ← Error: connect ECONNREFUSED {code=ECONNREFUSED})',
    );
    const timedOut = JSON.stringify({ level: 'WARN', message: 'slow', ...context, error: { name: 'E', message: 'm', stack: 'E: m', cause: 'ETIMEDOUT' } });
    expect(readableLogLine(timedOut)).toBe('WARN slow error=E: m (cause: ETIMEDOUT)');
  });

  it('reads only what is unambiguous bare: strings that look like numbers or literals, odd keys and multi-line messages are quoted', () => {
    const line = JSON.stringify({ level: 'INFO', message: 'two\nlines', ...context, id: '42', n: 42, none: 'null', 'odd key': 'v', notice: { name: 'daily', message: 'hi', to: ['a'] } });
    expect(readableLogLine(line)).toBe('INFO "two\\nlines" id="42" n=42 none="null" "odd key"=v notice={"name":"daily","message":"hi","to":["a"]}');
  });

  it('reads a stack written as an array of lines (POWERTOOLS_DEV) as one written as a string', () => {
    const line = JSON.stringify({ level: 'ERROR', message: 'failed', ...context, error: { name: 'E', message: 'm', stack: ['E: m', '    at f (x.js:1:1)'] } });
    expect(readableLogLine(line).split('\n')).toEqual(['ERROR failed error=E: m', '    at f (x.js:1:1)']);
  });

  it('an EMF document: its metrics and values', () => {
    const emf = JSON.stringify({
      _aws: { Timestamp: 1795986099810, CloudWatchMetrics: [{ Namespace: 'Laminar', Dimensions: [['service']], Metrics: [{ Name: 'RowsRead', Unit: 'Count' }, { Name: 'RowsValid', Unit: 'Count' }] }] },
      service: 'csv-validator',
      RowsRead: 14,
      RowsValid: 8,
    });
    expect(readableLogLine(emf)).toBe('metrics RowsRead=14 RowsValid=8');
  });

  it('leaves every other line as it is: the platform lines, plain text, JSON of another shape, broken JSON', () => {
    for (const line of [
      'START RequestId: 53cd62c6-9319-4632-9015-b02b9bdbead6 Version: $LATEST',
      'REPORT RequestId: 53cd62c6\tDuration: 486.85 ms\tBilled Duration: 921 ms',
      'plain console.log output',
      '{"errorType":"Error","errorMessage":"boom"}',
      // Another logger's JSON (no Powertools sampling rate): its timestamp and service are its own.
      '{"level":"info","message":"x","timestamp":"2026-11-29T00:00:00Z","service":"billing"}',
      // An EMF document with no metrics.
      '{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],"Metrics":[]}]}}',
      '{"level":"INFO","message":',
      '[1,2,3]',
    ]) {
      expect(readableLogLine(line)).toBe(line);
    }
  });

  it('prints through the prefixed output, every line of a multi-line result prefixed; raw prints the line as written', () => {
    const written: string[] = [];
    const target = { write: (s: string) => written.push(s) } as unknown as NodeJS.WritableStream;
    const line = JSON.stringify({ level: 'WARN', message: 'retrying', ...context, error: { name: 'E', message: 'm', stack: 'E: m\n    at f (x.js:1:1)' } });
    prefixedOutput(target).line('fn', line);
    prefixedOutput(target, { raw: true }).line('fn', line);
    expect(written).toEqual(['[fn] WARN retrying error=E: m\n[fn]     at f (x.js:1:1)\n', `[fn] ${line}\n`]);
  });
});
