import type { Local } from '../runner.ts';

export interface ScenarioContext {
  local: Local;
  /** A line of the scenario's own narration. */
  print(line: string): void;
}

export interface ScenarioResult {
  ok: boolean;
  /** What the scenario proved (or failed to), one line each, for the final summary. */
  summary: string[];
}

/** One end-to-end story of `laminar dev`: seed data, invoke, check what came out. */
export interface Scenario {
  name: string;
  description: string;
  /** The functions it invokes; it runs only when they all exist. */
  functions: string[];
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}
