// Registers system/process with the framework at import time (modules/index.ts imports us).
import { registerDataset } from '../../../core/registry/registry.js';
import { processDataset } from './dataset.js';

registerDataset(processDataset);
