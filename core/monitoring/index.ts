export { PromMetricsRegistry, promName, type MetricValue } from './registry.js';
export { startMonitoringServer, type MonitoringServer, type MonitoringServerOptions } from './server.js';
export { buildStats, type StatsTree } from './stats.js';
export { startMetricsLog } from './metrics-log.js';
