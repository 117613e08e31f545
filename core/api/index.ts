// What modules may import from core: the contracts, never the implementations.
export * from './event.js';
export * from './metrics.js';
export * from './dataset.js';
export * from './output.js';
