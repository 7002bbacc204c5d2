import { describe, expect, it } from 'vitest';
import { parseCli, UsageError } from '../../src/args.ts';

describe('CLI arguments', () => {
  it('parses invoke with an event file and --json', () => {
    expect(parseCli(['invoke', 'pdf-manifest', '--event', 'functions/pdf-manifest/events/reports.json', '--json'])).toEqual({
      command: 'invoke',
      functionName: 'pdf-manifest',
      eventFile: 'functions/pdf-manifest/events/reports.json',
      json: true,
      live: false,
    });
    expect(parseCli(['invoke', 'f', '-e', 'x.json'])).toEqual({ command: 'invoke', functionName: 'f', eventFile: 'x.json', json: false, live: false });
    expect(parseCli(['invoke', 'f', '--live'])).toEqual({ command: 'invoke', functionName: 'f', eventFile: undefined, json: false, live: true });
  });

  it('parses dev; --watch is --keep', () => {
    const defaults = { command: 'dev', keep: false, scenarios: [], once: false, speed: 1, live: false, fresh: false };
    expect(parseCli(['dev'])).toEqual(defaults);
    expect(parseCli(['dev', '--watch'])).toEqual({ ...defaults, keep: true });
    expect(parseCli(['dev', '--keep', '--scenario', 'a', '--scenario', 'b'])).toEqual({ ...defaults, keep: true, scenarios: ['a', 'b'] });
    expect(parseCli(['dev', '--once', '--live', '--fresh'])).toEqual({ ...defaults, once: true, live: true, fresh: true });
    expect(parseCli(['dev', '--speed', '60'])).toEqual({ ...defaults, speed: 60 });
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
    expect(() => parseCli(['deploy'])).toThrow(new UsageError('unknown command "deploy" (commands: invoke, dev)'));
    expect(() => parseCli(['invoke'])).toThrow(/needs a function name/);
    expect(() => parseCli(['invoke', 'f', '--evnt', 'x'])).toThrow(UsageError);
    expect(() => parseCli(['invoke', 'f', '--evnt', 'x'])).toThrow(/--evnt/);
    expect(() => parseCli(['invoke', 'f', 'g'])).toThrow(/unexpected arguments: g/);
  });
});
