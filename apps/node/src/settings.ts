import { homedir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { type ConfigOf, parse, prefixSettings, setting } from '@cairn/config'
import { proposerSettings } from '@cairn/proposer'
import { p2pSettings } from './p2p-settings.ts'

/** Every `cairn node` setting, once: flag, env, default, description. `--help` is generated from it. */
export const nodeSettings = {
  datadir: setting({
    flag: 'datadir',
    env: 'CAIRN_DATADIR',
    description: 'directory for the chain database, node key and mempool journal',
    schema: parse.string(),
    default: join(homedir(), '.cairn'),
  }),
  genesis: setting({
    flag: 'genesis',
    env: 'CAIRN_GENESIS',
    description: 'geth-style genesis JSON file (needed on first start unless --dev)',
    schema: parse.string().optional(),
  }),
  dev: setting({
    flag: 'dev',
    env: 'CAIRN_DEV',
    description:
      'single-node dev chain: dev genesis (chain id 77077, the 10 "test test … junk" accounts funded) and a local sequencer',
    schema: parse.bool(),
    default: false,
    boolean: true,
  }),
  sequencer: setting({
    flag: 'sequencer',
    env: 'CAIRN_SEQUENCER',
    description: 'build and preconfirm blocks from the mempool (implied by --dev)',
    schema: parse.bool(),
    default: false,
    boolean: true,
  }),
  based: setting({
    flag: 'based',
    env: 'CAIRN_BASED',
    description:
      'based mode: build blocks from the mempool (as --sequencer) and propose them to the L1 Inbox in-process; needs --l1.rpc, the Inbox (--l1.deployment or --l1.inbox) and the proposer key (env CAIRN_PROPOSER_KEY or --proposer.key-file); tune with --proposer.*',
    schema: parse.bool(),
    default: false,
    boolean: true,
  }),
  blockTime: setting({
    flag: 'block-time',
    env: 'CAIRN_BLOCK_TIME',
    description: 'seconds between blocks when sequencing; 0 seals a block per transaction',
    schema: parse.nonNegativeNumber(),
    default: 2,
  }),
  coinbase: setting({
    flag: 'coinbase',
    env: 'CAIRN_COINBASE',
    description: 'address that receives priority fees of sequenced blocks',
    schema: z
      .string()
      .regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte hex address')
      .optional(),
  }),
  httpAddr: setting({
    flag: 'http.addr',
    env: 'CAIRN_HTTP_ADDR',
    description: 'JSON-RPC listen address (HTTP and WebSocket): an IP address, or a host name such as localhost',
    schema: parse.host(),
    default: '127.0.0.1',
  }),
  httpPort: setting({
    flag: 'http.port',
    env: 'CAIRN_HTTP_PORT',
    description: 'JSON-RPC HTTP port; WebSocket is served on it too unless --ws.port is set',
    schema: parse.port(),
    default: 8545,
  }),
  wsPort: setting({
    flag: 'ws.port',
    env: 'CAIRN_WS_PORT',
    description: 'separate WebSocket port (default: same as --http.port)',
    schema: parse.port().optional(),
  }),
  httpCors: setting({
    flag: 'http.corsdomain',
    env: 'CAIRN_HTTP_CORSDOMAIN',
    description: 'Access-Control-Allow-Origin for browser dapps',
    // Sent as a header value: node:http throws on control characters when it answers, not here.
    schema: parse.string().regex(/^[\x20-\x7e]+$/, 'must be printable ASCII, such as * or https://app.example'),
    default: '*',
  }),
  rpcThread: setting({
    flag: 'rpc.thread',
    env: 'CAIRN_RPC_THREAD',
    description:
      'serve HTTP and WebSocket from a thread of their own (methods still run on the main thread, which also builds blocks); false serves them from the main thread',
    schema: parse.bool(),
    default: true,
    boolean: true,
  }),
  rpcGasCap: setting({
    flag: 'rpc.gascap',
    env: 'CAIRN_RPC_GASCAP',
    description: 'gas limit cap for eth_call, eth_estimateGas and traces',
    schema: parse.positiveInt(),
    default: 50_000_000,
  }),
  rpcEvmTimeout: setting({
    flag: 'rpc.evmtimeout',
    env: 'CAIRN_RPC_EVMTIMEOUT',
    description:
      'seconds one eth_call, eth_estimateGas, eth_createAccessList, eth_simulateV1 or trace may execute before it is aborted (geth\'s "execution aborted (timeout = 5s)"); 0 for no limit. Executions give the block builder turns while they run',
    schema: parse.nonNegativeNumber(),
    default: 5,
  }),
  rpcTxFeeCap: setting({
    flag: 'rpc.txfeecap',
    env: 'CAIRN_RPC_TXFEECAP',
    description:
      'largest fee eth_sendRawTransaction accepts, in ether (gas limit × fee cap, as geth); 0 turns the check off. Gossiped transactions are not capped',
    schema: parse.nonNegativeNumber(),
    default: 1,
  }),
  rpcTxSyncDefaultTimeout: setting({
    flag: 'rpc.txsync.defaulttimeout',
    env: 'CAIRN_RPC_TXSYNC_DEFAULTTIMEOUT',
    description:
      'seconds eth_sendRawTransactionSync (EIP-7966) waits for the receipt when the call names no timeout (cut to --rpc.txsync.maxtimeout)',
    schema: parse.positiveNumber(),
    default: 20,
  }),
  rpcTxSyncMaxTimeout: setting({
    flag: 'rpc.txsync.maxtimeout',
    env: 'CAIRN_RPC_TXSYNC_MAXTIMEOUT',
    description: 'most seconds an eth_sendRawTransactionSync call may ask to wait; a longer timeout is cut to it',
    schema: parse.positiveNumber(),
    default: 60,
  }),
  rpcBatchLimit: setting({
    flag: 'rpc.batch-limit',
    env: 'CAIRN_RPC_BATCH_LIMIT',
    description: 'most requests in one JSON-RPC batch',
    schema: parse.positiveInt(),
    default: 1000,
  }),
  rpcBodyLimit: setting({
    flag: 'rpc.body-limit',
    env: 'CAIRN_RPC_BODY_LIMIT',
    description: 'largest JSON-RPC request body in bytes',
    schema: parse.positiveInt(),
    default: 5 * 1024 * 1024,
  }),
  rpcLogRange: setting({
    flag: 'rpc.logs.max-range',
    env: 'CAIRN_RPC_LOGS_MAX_RANGE',
    description: 'widest eth_getLogs block range',
    schema: parse.positiveInt(),
    default: 100_000,
  }),
  rpcLogResults: setting({
    flag: 'rpc.logs.max-results',
    env: 'CAIRN_RPC_LOGS_MAX_RESULTS',
    description: 'most logs one eth_getLogs returns',
    schema: parse.positiveInt(),
    default: 10_000,
  }),
  txpoolAccountSlots: setting({
    flag: 'txpool.accountslots',
    env: 'CAIRN_TXPOOL_ACCOUNTSLOTS',
    description: 'executable transactions kept per sender',
    schema: parse.positiveInt(),
    default: 64,
  }),
  txpoolGlobalSlots: setting({
    flag: 'txpool.globalslots',
    env: 'CAIRN_TXPOOL_GLOBALSLOTS',
    description: 'executable transactions kept in all',
    schema: parse.positiveInt(),
    default: 8192,
  }),
  txpoolAccountQueue: setting({
    flag: 'txpool.accountqueue',
    env: 'CAIRN_TXPOOL_ACCOUNTQUEUE',
    description: 'non-executable (nonce gap) transactions kept per sender',
    schema: parse.positiveInt(),
    default: 64,
  }),
  txpoolGlobalQueue: setting({
    flag: 'txpool.globalqueue',
    env: 'CAIRN_TXPOOL_GLOBALQUEUE',
    description: 'non-executable transactions kept in all',
    schema: parse.positiveInt(),
    default: 2048,
  }),
  txpoolPriceBump: setting({
    flag: 'txpool.pricebump',
    env: 'CAIRN_TXPOOL_PRICEBUMP',
    description: 'percent fee increase a replacement transaction needs',
    schema: parse.positiveInt(),
    default: 10,
  }),
  senderRecoveryThreads: setting({
    flag: 'sender-recovery.threads',
    env: 'CAIRN_SENDER_RECOVERY_THREADS',
    description:
      'worker threads that recover transaction senders (RPC, gossip and imported blocks) off the main thread; 0 recovers on the main thread; default: one less than the cores, 1 to 4',
    schema: z.coerce.number().int().min(0).max(64).optional(),
  }),
  l1Rpc: setting({
    flag: 'l1.rpc',
    env: 'CAIRN_L1_RPC',
    description: 'L1 execution JSON-RPC URL; with it the node derives the chain from L1 (safe and finalized heads)',
    schema: parse.string().optional(),
  }),
  l1Beacon: setting({
    flag: 'l1.beacon',
    env: 'CAIRN_L1_BEACON',
    description: 'L1 beacon API URL serving /eth/v1/beacon/blobs (default: --l1.rpc, which anvil serves)',
    schema: parse.string().optional(),
  }),
  l1Deployment: setting({
    flag: 'l1.deployment',
    env: 'CAIRN_L1_DEPLOYMENT',
    description: 'JSON file with the L1 contract addresses, as written by the deploy script',
    schema: parse.string().optional(),
  }),
  l1Inbox: setting({
    flag: 'l1.inbox',
    env: 'CAIRN_L1_INBOX',
    description: 'Inbox address (overrides --l1.deployment)',
    schema: z
      .string()
      .regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte hex address')
      .optional(),
  }),
  l1StartBlock: setting({
    flag: 'l1.start-block',
    env: 'CAIRN_L1_START_BLOCK',
    description:
      "first L1 block to scan for proposals (the Inbox deployment block); default: --l1.deployment's startBlock, else 0",
    schema: z.coerce.number().int().min(0).optional(),
  }),
  l1AnchorLag: setting({
    flag: 'l1.anchor-lag',
    env: 'CAIRN_L1_ANCHOR_LAG',
    description: 'L1 blocks behind the L1 head that sequenced blocks anchor to',
    schema: z.coerce.number().int().min(0),
    default: 2,
  }),
  l1AnchorInterval: setting({
    flag: 'l1.anchor-interval',
    env: 'CAIRN_L1_ANCHOR_INTERVAL',
    description:
      'L1 blocks the anchor advances by at a time: a batch has one anchor, so larger values make fewer, fuller batches; smaller ones let L2 see L1 sooner',
    schema: z.coerce.number().int().min(1),
    default: 4,
  }),
  l1PollInterval: setting({
    flag: 'l1.poll-interval',
    env: 'CAIRN_L1_POLL_INTERVAL',
    description: 'seconds between L1 polls',
    schema: z.coerce.number().positive(),
    default: 1,
  }),
  logLevel: setting({
    flag: 'log-level',
    env: 'CAIRN_LOG_LEVEL',
    description: 'trace, debug, info, warn, error, fatal or silent',
    schema: parse.logLevel(),
    default: 'info' as const,
  }),
  metricsAddr: setting({
    flag: 'metrics.addr',
    env: 'CAIRN_METRICS_ADDR',
    description: 'Prometheus metrics listen address: an IP address, or a host name such as localhost',
    schema: parse.host(),
    default: '127.0.0.1',
  }),
  metricsPort: setting({
    flag: 'metrics.port',
    env: 'CAIRN_METRICS_PORT',
    description: 'serve Prometheus metrics at http://addr:port/metrics (off unless set)',
    schema: parse.port().optional(),
  }),
  ...p2pSettings,
  // --proposer.key-file, --proposer.max-batch-blocks, … : the in-process proposer of --based.
  ...prefixSettings(proposerSettings, 'proposer'),
}

export type NodeConfig = ConfigOf<typeof nodeSettings>
