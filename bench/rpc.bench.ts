/**
 * JSON-RPC requests per second against a running `cairn node --dev` over keep-alive HTTP on
 * loopback: eth_blockNumber, eth_getBalance and eth_call (ERC-20 balanceOf on a deployed token).
 *   npx tsx bench/rpc.bench.ts [seconds-per-method]
 */
import { createFeeMarket1559Tx } from '@ethereumjs/tx'
import { bytesToHex, generateAddress, hexToBytes } from '@ethereumjs/util'
import { nativeCustomCrypto } from '@cairn/executor'
import { DEV_ACCOUNTS, createChainCommon, devGenesis } from '@cairn/primitives'
import { compileBenchToken } from '../packages/executor/bench/erc20.ts'
import { rpc, startNode } from '../test/src/node-process.ts'
import { createPoster, runConcurrently } from './http-load.ts'

export interface RpcBenchResult {
  method: string
  requestsPerSecond: number
}

export async function benchRpc(secondsPerMethod = 5, connections = 32): Promise<RpcBenchResult[]> {
  const node = await startNode({ blockTime: 1, extraArgs: ['--log-level', 'warn'] })
  const poster = createPoster(node.rpcUrl, connections)
  try {
    // A token to call: deployed by dev account 0 at nonce 0.
    const common = createChainCommon(devGenesis(), nativeCustomCrypto())
    const deployer = hexToBytes(DEV_ACCOUNTS[0]!.privateKey)
    const { bytecode } = compileBenchToken()
    const deploy = createFeeMarket1559Tx(
      { nonce: 0n, gasLimit: 3_000_000n, data: bytecode, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n },
      { common },
    ).sign(deployer)
    const hash = await rpc<string>(node.rpcUrl, 'eth_sendRawTransaction', [bytesToHex(deploy.serialize())])
    while ((await rpc(node.rpcUrl, 'eth_getTransactionReceipt', [hash])) === null)
      await new Promise((r) => setTimeout(r, 100))
    const token = bytesToHex(generateAddress(hexToBytes(DEV_ACCOUNTS[0]!.address), new Uint8Array(0)))
    const holder = DEV_ACCOUNTS[0]!.address.slice(2).toLowerCase().padStart(64, '0')

    const requests: Record<string, string> = {
      eth_blockNumber: '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}',
      eth_getBalance: `{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["${DEV_ACCOUNTS[1]!.address}","latest"]}`,
      eth_call: `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"to":"${token}","data":"0x70a08231${holder}"},"latest"]}`,
    }
    const results: RpcBenchResult[] = []
    for (const [method, body] of Object.entries(requests)) {
      const check = await poster.post(body)
      if (!check.includes('"result"')) throw new Error(`${method} failed: ${check}`)
      const run = await runConcurrently(1_000_000, connections, secondsPerMethod, async () => {
        const response = await poster.post(body)
        if (!response.includes('"result"')) throw new Error(`${method} failed under load: ${response}`)
      })
      results.push({ method, requestsPerSecond: run.done / run.seconds })
    }
    return results
  } finally {
    poster.close()
    await node.cleanup()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchRpc(Number(process.argv[2] ?? 5)))
    console.log(`rpc ${r.method}: ${r.requestsPerSecond.toFixed(0)} req/s`)
}
