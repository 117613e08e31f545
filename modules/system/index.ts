// The system module's datasets.
import './process/index.js';
