import { registerOutput } from '../registry.js';
import { parseFileOptions } from './options.js';
import { createFileOutput } from './output.js';

export { parseFileOptions, parsePermissions, type FileOptions } from './options.js';
export { createFileOutput, FileOutput, type RetryPolicy } from './output.js';
export { RotatingFile } from './rotator.js';

registerOutput('file', {
  validate(config, where) {
    parseFileOptions(config, where);
  },
  async create(config, ctx) {
    return createFileOutput(parseFileOptions(config, ctx), ctx);
  },
});
