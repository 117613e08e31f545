// Every module folder; importing this registers all datasets with core/registry.
import './system/index.js';
