export * from './assumptions.ts';
export * from './durations.ts';
export * from './estimate.ts';
export * from './format.ts';
export * from './prices.ts';
export * from './schedule.ts';
