import { type AnvilInstance, freePort, startAnvil } from '@cairn/anvil'
import { DEV_ACCOUNTS, type Hex } from '@cairn/primitives'
import { type Address, createPublicClient, createWalletClient, http, parseAbi } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readAtStartup } from './startup-read.ts'

const abi = parseAbi(['function forcedInclusionStore() view returns (address)'])
/** Init code whose runtime code is `PUSH1 0 PUSH1 0 REVERT`: every call reverts without data. */
const ALWAYS_REVERTS: Hex = '0x6005600c60003960056000f360006000fd'

let anvil: AnvilInstance
beforeAll(async () => {
  anvil = await startAnvil()
})
afterAll(async () => {
  await anvil?.stop()
})

function readStore(l1Rpc: string, address: Address) {
  const l1 = createPublicClient({ transport: http(l1Rpc, { retryCount: 0 }) })
  return readAtStartup(
    { what: "the Inbox's ForcedInclusionStore", l1Rpc, address, addressSettings: '--l1.inbox or --l1.deployment' },
    () => l1.readContract({ address, abi, functionName: 'forcedInclusionStore' }),
  )
}

describe('readAtStartup', () => {
  it('names the L1 URL and --l1.rpc when the L1 does not answer', async () => {
    const l1Rpc = `http://127.0.0.1:${await freePort()}`
    const failure = readStore(l1Rpc, '0x00000000000000000000000000000000000000aa')
    await expect(failure).rejects.toMatchObject({ code: 'L1_UNREACHABLE' })
    await expect(failure).rejects.toThrow(`the L1 at ${l1Rpc} did not answer`)
    await expect(failure).rejects.toThrow('check --l1.rpc')
  })

  it('names the address and its settings when nothing is deployed there', async () => {
    const address = '0x00000000000000000000000000000000000000aa'
    const failure = readStore(anvil.rpcUrl, address)
    await expect(failure).rejects.toMatchObject({ code: 'L1_CONTRACT_MISSING' })
    await expect(failure).rejects.toThrow(`${address} on the L1 at ${anvil.rpcUrl} returned no data`)
    await expect(failure).rejects.toThrow('check --l1.inbox or --l1.deployment')
  })

  it('reports a revert as a failed read, and passes a good read through', async () => {
    const account = privateKeyToAccount(DEV_ACCOUNTS[0]!.privateKey)
    const wallet = createWalletClient({ account, transport: http(anvil.rpcUrl) })
    const l1 = createPublicClient({ transport: http(anvil.rpcUrl) })
    const hash = await wallet.sendTransaction({ data: ALWAYS_REVERTS, to: null, chain: null })
    const { contractAddress } = await l1.waitForTransactionReceipt({ hash })
    await expect(readStore(anvil.rpcUrl, contractAddress!)).rejects.toMatchObject({ code: 'L1_READ_FAILED' })

    const target = { what: 'the chain id', l1Rpc: anvil.rpcUrl, address: '0x', addressSettings: '' }
    expect(await readAtStartup(target, () => l1.getChainId())).toBe(31337)
  })
})
