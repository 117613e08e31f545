import { arch, platform, version as nodeVersion } from 'node:process';
import { BEAT_NAME, beatVersion } from '../../beat/version.js';
import type { Command } from '../command.js';

export const versionCommand: Command = {
  path: ['version'],
  summary: 'Show the version',
  description: 'Print the procbeat version, the architecture and the Node.js version.',
  async run({ io }) {
    io.stdout.write(`${BEAT_NAME} version ${beatVersion()} (${arch}), ${platform}, node ${nodeVersion}\n`);
    return 0;
  },
};
