export * from './model.ts';
export * from './dot.ts';
export * from './render.ts';
export * from './generate.ts';
