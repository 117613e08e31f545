import assert from 'node:assert/strict';
import { test } from 'node:test';
import '../../modules/index.js';
import { findDataset } from '../../core/registry/registry.js';
import { processDataset } from '../../modules/system/process/dataset.js';

test('importing modules/ registers system/process with the framework', () => {
  assert.equal(findDataset('system', 'process'), processDataset);
});
