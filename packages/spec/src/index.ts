export * from './spec.ts';
export * from './resources.ts';
export * from './load.ts';
export * from './layer.ts';
export * from './queue.ts';
export * from './naming.ts';
export * from './describe.ts';
export * from './schedule-expression.ts';
