export { loadBeatInfo, type BeatInfo, type BeatInfoOptions } from './info.js';
export { beatVersion, BEAT_NAME } from './version.js';
