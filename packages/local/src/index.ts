export * from './args.ts';
export * from './environment.ts';
export * from './invoker.ts';
export * from './output.ts';
export * from './report.ts';
export * from './runner.ts';
export * from './task-root.ts';
export { scenarios } from './scenarios/index.ts';
export type { Scenario, ScenarioContext, ScenarioResult } from './scenarios/index.ts';
