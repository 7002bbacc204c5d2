import { describe, expect, it } from 'vitest';
import { parseCli, USAGE, UsageError } from '../../src/args.ts';
import { retryDelayScale } from '../../src/runner.ts';

describe('CLI arguments', () => {
  it('parses invoke with an event file and --json', () => {
    expect(parseCli(['invoke', 'pdf-manifest', '--event', 'functions/pdf-manifest/events/reports.json', '--json'])).toEqual({
      command: 'invoke',
      functionName: 'pdf-manifest',
      eventFile: 'functions/pdf-manifest/events/reports.json',
      json: true,
      live: false,
      rawLogs: false,
    });
    expect(parseCli(['invoke', 'f', '-e', 'x.json'])).toEqual({ command: 'invoke', functionName: 'f', eventFile: 'x.json', json: false, live: false, rawLogs: false });
    expect(parseCli(['invoke', 'f', '--live', '--raw-logs'])).toEqual({ command: 'invoke', functionName: 'f', eventFile: undefined, json: false, live: true, rawLogs: true });
  });

  it('parses dev; --watch is --keep', () => {
    const defaults = { command: 'dev', keep: false, scenarios: [], once: false, speed: 1, live: false, fresh: false, duplicateEvents: false, retryDelayScale: undefined, console: true, consolePort: undefined, rawLogs: false };
    expect(parseCli(['dev'])).toEqual(defaults);
    expect(parseCli(['dev', '--raw-logs'])).toEqual({ ...defaults, rawLogs: true });
    expect(parseCli(['dev', '--watch'])).toEqual({ ...defaults, keep: true });
    expect(parseCli(['dev', '--keep', '--scenario', 'a', '--scenario', 'b'])).toEqual({ ...defaults, keep: true, scenarios: ['a', 'b'] });
    expect(parseCli(['dev', '--once', '--live', '--fresh'])).toEqual({ ...defaults, once: true, live: true, fresh: true });
    expect(parseCli(['dev', '--speed', '60'])).toEqual({ ...defaults, speed: 60 });
    expect(parseCli(['dev', '--duplicate-events', '--retry-delay-scale', '1/6'])).toEqual({ ...defaults, duplicateEvents: true, retryDelayScale: 1 / 6 });
    expect(parseCli(['dev', '--retry-delay-scale', '0'])).toEqual({ ...defaults, retryDelayScale: 0 });
    expect(() => parseCli(['dev', '--retry-delay-scale=-1'])).toThrow(/--retry-delay-scale wants a number/);
    expect(() => parseCli(['dev', '--retry-delay-scale', '1/0'])).toThrow(/--retry-delay-scale wants a number/);
    // Any number JavaScript reads, or a fraction; bounded so that the longest wait still fits a timer.
    expect(parseCli(['dev', '--retry-delay-scale', '1e-3'])).toMatchObject({ retryDelayScale: 0.001 });
    expect(parseCli(['dev', '--retry-delay-scale', '1000'])).toMatchObject({ retryDelayScale: 1000 });
    expect(() => parseCli(['dev', '--retry-delay-scale', '1001'])).toThrow(/from 0 to 1000/);
    expect(() => parseCli(['dev', '--retry-delay-scale', ''])).toThrow(/--retry-delay-scale wants a number/);
  });

  it('reads LAMINAR_RETRY_DELAY_SCALE as the flag is read (the README\'s default, 1/60, included)', () => {
    expect(retryDelayScale(undefined, { LAMINAR_RETRY_DELAY_SCALE: '1/60' })).toBe(1 / 60);
    expect(retryDelayScale(undefined, { LAMINAR_RETRY_DELAY_SCALE: '1e-3' })).toBe(0.001);
    expect(retryDelayScale(0.5, { LAMINAR_RETRY_DELAY_SCALE: '2' })).toBe(0.5);
    expect(() => retryDelayScale(undefined, { LAMINAR_RETRY_DELAY_SCALE: 'fast' })).toThrow(UsageError);
    expect(() => retryDelayScale(undefined, { LAMINAR_RETRY_DELAY_SCALE: 'fast' })).toThrow(/^LAMINAR_RETRY_DELAY_SCALE wants a number/);
  });

  it('says in its help everything the retry-delay scale scales: async retry waits, Kafka batching windows and retries, Firehose buffering', () => {
    // The runner hands the one scale to all three (runner.ts); help that names only async retries
    // left a slowed-down Firehose or Kafka mapping unexplained.
    // Each entry with its continuation lines, as one line of text.
    const flag = /^ {6}--retry-delay-scale X[\s\S]*?(?=\n {6}--)/m.exec(USAGE)?.[0] ?? '';
    const variable = /^ {2}LAMINAR_RETRY_DELAY_SCALE [\s\S]*?(?=\n {2}\S)/m.exec(USAGE)?.[0] ?? '';
    for (const text of [flag, variable].map((t) => t.replace(/\s+/g, ' '))) {
      expect(text).toMatch(/async retry waits/);
      expect(text).toMatch(/Kafka batching window and retry waits/);
      expect(text).toMatch(/Firehose buffering interval/);
    }
  });

  it('refuses a --console-port that would do nothing, or is not a port', () => {
    expect(parseCli(['dev', '--console-port', '5000'])).toMatchObject({ consolePort: 5000 });
    expect(parseCli(['dev', '--once', '--keep', '--console-port', '0'])).toMatchObject({ consolePort: 0 });
    expect(() => parseCli(['dev', '--once', '--console-port', '5000'])).toThrow(/no effect with --once/);
    expect(() => parseCli(['dev', '--no-console', '--console-port', '5000'])).toThrow(/no effect with --no-console/);
    for (const bad of ['', '0x10', '65536', '-1']) expect(() => parseCli(['dev', `--console-port=${bad}`])).toThrow(/wants a port number/);
  });

  it('parses dlq list / replay and queue list', () => {
    expect(parseCli(['dlq', 'list'])).toEqual({ command: 'dlq-list', functionName: undefined, json: false });
    expect(parseCli(['dlq', 'list', 'csv-validator', '--json'])).toEqual({ command: 'dlq-list', functionName: 'csv-validator', json: true });
    expect(parseCli(['dlq', 'replay', 'csv-validator', 'm-1'])).toEqual({ command: 'dlq-replay', functionName: 'csv-validator', messageId: 'm-1', json: false, rawLogs: false });
    expect(parseCli(['dlq', 'replay', 'csv-validator', 'm-1', '--raw-logs'])).toMatchObject({ command: 'dlq-replay', rawLogs: true });
    // Listings run no function: the flag would do nothing, so it is refused.
    expect(() => parseCli(['dlq', 'list', '--raw-logs'])).toThrow(/--raw-logs has an effect only with dlq replay/);
    expect(() => parseCli(['queue', 'list', '--raw-logs'])).toThrow(/--raw-logs has an effect only with dlq replay/);
    expect(parseCli(['queue', 'list', 'bronze-arrivals'])).toEqual({ command: 'queue-list', queue: 'bronze-arrivals', json: false });
    expect(parseCli(['queue', 'list'])).toEqual({ command: 'queue-list', queue: undefined, json: false });
    expect(() => parseCli(['dlq', 'replay', 'csv-validator'])).toThrow(/needs a function and a message id/);
    expect(() => parseCli(['dlq', 'purge'])).toThrow(/dlq wants "list" or "replay"/);
    expect(() => parseCli(['queue', 'send', 'x'])).toThrow(/queue wants "list"/);
  });

  it('refuses a speed that is not a positive number, and --speed with --once', () => {
    expect(() => parseCli(['dev', '--speed', '0'])).toThrow(/--speed wants a positive number/);
    expect(() => parseCli(['dev', '--speed', 'fast'])).toThrow(/--speed wants a positive number/);
    expect(() => parseCli(['dev', '--once', '--speed', '10'])).toThrow(/no effect with --once/);
  });

  it('shows help without a command', () => {
    expect(parseCli([])).toEqual({ command: 'help' });
    expect(parseCli(['--help'])).toEqual({ command: 'help' });
    expect(parseCli(['invoke', '--help'])).toEqual({ command: 'help' });
  });

  it('refuses what it does not understand, saying what', () => {
    expect(() => parseCli(['deploy'])).toThrow(new UsageError('unknown command "deploy" (commands: invoke, dev, dlq, queue, docs)'));
    expect(parseCli(['docs', '--check'])).toEqual({ command: 'docs', check: true });
    expect(() => parseCli(['invoke'])).toThrow(/needs a function name/);
    expect(() => parseCli(['invoke', 'f', '--evnt', 'x'])).toThrow(UsageError);
    expect(() => parseCli(['invoke', 'f', '--evnt', 'x'])).toThrow(/--evnt/);
    expect(() => parseCli(['invoke', 'f', 'g'])).toThrow(/unexpected arguments: g/);
  });
});
