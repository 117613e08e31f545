// The ECS mapping both backends share.
export { processEventToBeatEvent, isInteractiveTty, type EcsContext } from './to-beat-event.js';
export { processEntityId } from './entity-id.js';
export { capabilityNames, ecsCapabilityNames, CAPABILITY_NAMES } from './capabilities.js';
export { processMessage } from './message.js';
