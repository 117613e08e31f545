// The ECS mapping both backends share.
export { processEventToBeatEvent, type EcsContext } from './to-beat-event.js';
export { isInteractiveTty } from './tty.js';
export { processEntityId } from './entity-id.js';
export { capabilityNames, ecsCapabilityNames, CAPABILITY_NAMES } from './capabilities.js';
export { processMessage } from './message.js';
