export { createLogger, type LogLevel, type Logger } from './logger.ts'
export {
  Counter,
  Gauge,
  Histogram,
  Registry,
  createMetricsRegistry,
  type MetricsServer,
  startConfiguredMetricsServer,
  startMetricsServer,
} from './metrics.ts'
