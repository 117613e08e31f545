import type { ProcessorBuilder } from '../types.js';
import { DockerMetadataProcessor } from './processor.js';
import { readSettings } from './settings.js';

export { DockerMetadataProcessor } from './processor.js';
export { readSettings, DEFAULTS as DOCKER_METADATA_DEFAULTS, type DockerMetadataSettings } from './settings.js';

/**
 * `add_docker_metadata`, configured as in beats. Nothing connects at build time (so
 * `procbeat test config` stays offline); `start()` opens the event stream.
 */
export const buildAddDockerMetadata: ProcessorBuilder = async (section, ctx) => {
  const settings = readSettings(section);
  // Loaded here, not at start-up: dockerode and its HTTP stack are ~25 MiB of RSS that a
  // procbeat without this processor should not carry.
  const { default: Docker } = await import('dockerode');
  return new DockerMetadataProcessor(settings, ctx.metrics?.namespace('add_docker_metadata'), ctx.logger, Docker);
};
