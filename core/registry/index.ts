export { registerDataset, findDataset, knownModules, datasetsOf, datasetId } from './registry.js';
export { planDatasets, type DatasetPlan } from './plan.js';
