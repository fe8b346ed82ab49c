import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Address, type Hex, createPublicClient, createWalletClient, defineChain, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nativeCustomCrypto } from '@cairn/executor'
import { DEV_ACCOUNTS, createChainCommon, parseGenesis } from '@cairn/primitives'
import { type BatchWitness, WitnessError, executeWitness, parseWitness } from '@cairn/proof'
import { tokenContract } from './src/contracts.ts'
import { type RunningNode, rpc, rpcRaw, startNode } from './src/node-process.ts'

let node: RunningNode
let firstBlock: bigint
let lastBlock: bigint

beforeAll(async () => {
  node = await startNode({ blockTime: 0 })
  const chain = defineChain({
    id: 77077,
    name: 'Cairn dev',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [node.rpcUrl] } },
  })
  const account = privateKeyToAccount(DEV_ACCOUNTS[0]!.privateKey)
  const client = createPublicClient({ chain, transport: http(node.rpcUrl), pollingInterval: 100 })
  const wallet = createWalletClient({ account, chain, transport: http(node.rpcUrl) })
  const token = tokenContract()
  const deployed = await client.waitForTransactionReceipt({
    hash: await wallet.deployContract({ abi: token.abi, bytecode: token.bytecode }),
  })
  firstBlock = deployed.blockNumber
  const tokenAddress = deployed.contractAddress as Address
  for (const to of [DEV_ACCOUNTS[5]!.address, DEV_ACCOUNTS[6]!.address]) {
    const receipt = await client.waitForTransactionReceipt({
      hash: await wallet.writeContract({
        address: tokenAddress,
        abi: token.abi,
        functionName: 'transfer',
        args: [to, 7n],
      }),
    })
    lastBlock = receipt.blockNumber
  }
})

afterAll(async () => {
  await node?.cleanup()
})

const hex = (n: bigint): Hex => `0x${n.toString(16)}`

describe('cairn_getWitness', () => {
  it('serves a witness that re-executes statelessly to the node’s block hash and state root', async () => {
    const witness = parseWitness(
      await rpc<BatchWitness>(node.rpcUrl, 'cairn_getWitness', [hex(firstBlock), hex(lastBlock)]),
    )
    expect(witness.blocks).toHaveLength(Number(lastBlock - firstBlock + 1n))
    const genesis = parseGenesis(JSON.parse(readFileSync(join(node.datadir, 'genesis.json'), 'utf8')))
    const common = createChainCommon(genesis, nativeCustomCrypto())
    const { transition } = await executeWitness(witness, { common })
    const head = await rpc<{ hash: Hex; stateRoot: Hex }>(node.rpcUrl, 'eth_getBlockByNumber', [hex(lastBlock), false])
    const parent = await rpc<{ hash: Hex }>(node.rpcUrl, 'eth_getBlockByNumber', [hex(firstBlock - 1n), false])
    expect(transition).toEqual({ parentHash: parent.hash, blockHash: head.hash, stateRoot: head.stateRoot })

    // The node served the truth; a copy with the deployer's balance bumped is refused.
    const lie = parseWitness(JSON.stringify(witness))
    const deployer = lie.accounts.find((a) => a.address.toLowerCase() === DEV_ACCOUNTS[0]!.address.toLowerCase())!
    deployer.balance = hex(BigInt(deployer.balance) + 1n)
    await expect(executeWitness(lie, { common })).rejects.toBeInstanceOf(WitnessError)
  })

  it('answers bad ranges and unknown batches with errors that say why', async () => {
    const beyond = await rpcRaw(node.rpcUrl, {
      jsonrpc: '2.0',
      id: 1,
      method: 'cairn_getWitness',
      params: ['0x2', '0x300'],
    })
    expect((beyond.json as { error: { message: string } }).error.message).toMatch(/beyond the head/)
    const reversed = await rpcRaw(node.rpcUrl, {
      jsonrpc: '2.0',
      id: 1,
      method: 'cairn_getWitness',
      params: ['0x3', '0x2'],
    })
    expect((reversed.json as { error: { code: number } }).error.code).toBe(-32602)
    const noL1 = await rpcRaw(node.rpcUrl, { jsonrpc: '2.0', id: 1, method: 'cairn_getBatchWitness', params: ['0x1'] })
    expect((noL1.json as { error: { message: string } }).error.message).toMatch(/does not follow L1/)
  })
})
