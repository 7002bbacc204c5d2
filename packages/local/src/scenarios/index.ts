import { bronzeSilverScenario } from './bronze-silver.ts';
import { pdfManifestScenario } from './pdf-manifest.ts';
import type { Scenario } from './types.ts';

export type { Scenario, ScenarioContext, ScenarioResult } from './types.ts';

/** Every scenario `laminar dev` knows; a new function adds its own here. */
export const scenarios: Scenario[] = [pdfManifestScenario, bronzeSilverScenario];
