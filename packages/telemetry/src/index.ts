export { createLogger, type LogLevel, type Logger } from './logger.ts'
export { Counter, Gauge, Histogram, Registry, createMetricsRegistry, startMetricsServer } from './metrics.ts'
