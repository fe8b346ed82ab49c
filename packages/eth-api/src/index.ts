export {
  CallRunner,
  callFailure,
  unwrapCallResult,
  type AccessListResult,
  type CallFailure,
  type CallEnvironment,
  type CallOutcome,
} from './call-runner.ts'
export { ethMethods, type EthApiLimits, type EthApiOptions, type RpcMempool, type TraceService } from './eth-api.ts'
export { DEFAULT_TIP, rewardPercentiles, suggestTip } from './fees.ts'
export { chainSubscriptionSource } from './subscriptions-source.ts'
export { createTraceService } from './trace-service.ts'
export { blockNumberOf, createLogReader, type LogLimits } from './logs.ts'
