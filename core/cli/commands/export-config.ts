import { effectiveConfigYaml } from '../../config/export.js';
import type { Command } from '../command.js';
import { configFromFlags } from '../shared.js';

export const exportConfigCommand: Command = {
  path: ['export', 'config'],
  summary: 'Export the effective configuration as YAML',
  description:
    'Print the configuration procbeat would run with, as YAML: the file with -E overrides and ${VAR} ' +
    'expansion applied, defaults filled in for the global settings, paths resolved. ' +
    'Secrets (password, api_key, token, passwords inside URLs) are printed as xxxxx.',
  async run({ flags, io }) {
    const config = configFromFlags(flags);
    io.stdout.write(effectiveConfigYaml(config));
    return 0;
  },
};
