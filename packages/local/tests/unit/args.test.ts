import { describe, expect, it } from 'vitest';
import { parseCli, UsageError } from '../../src/args.ts';

describe('CLI arguments', () => {
  it('parses invoke with an event file and --json', () => {
    expect(parseCli(['invoke', 'pdf-manifest', '--event', 'functions/pdf-manifest/events/reports.json', '--json'])).toEqual({
      command: 'invoke',
      functionName: 'pdf-manifest',
      eventFile: 'functions/pdf-manifest/events/reports.json',
      json: true,
    });
    expect(parseCli(['invoke', 'f', '-e', 'x.json'])).toEqual({ command: 'invoke', functionName: 'f', eventFile: 'x.json', json: false });
    expect(parseCli(['invoke', 'f'])).toEqual({ command: 'invoke', functionName: 'f', eventFile: undefined, json: false });
  });

  it('parses dev; --watch is --keep', () => {
    expect(parseCli(['dev'])).toEqual({ command: 'dev', keep: false, scenarios: [] });
    expect(parseCli(['dev', '--watch'])).toEqual({ command: 'dev', keep: true, scenarios: [] });
    expect(parseCli(['dev', '--keep', '--scenario', 'a', '--scenario', 'b'])).toEqual({ command: 'dev', keep: true, scenarios: ['a', 'b'] });
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
