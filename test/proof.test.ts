import { verifyMerkleProof } from '@ethereumjs/mpt'
import { createAccountFromRLP, hexToBytes } from '@ethereumjs/util'
import {
  type Address,
  type Hex,
  bytesToHex,
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeAbiParameters,
  fromRlp,
  http,
  keccak256,
  pad,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_ACCOUNTS } from '@cairn/primitives'
import { tokenContract } from './src/contracts.ts'
import { type RunningNode, rpc, startNode } from './src/node-process.ts'

interface ProofResponse {
  address: Hex
  accountProof: Hex[]
  balance: Hex
  nonce: Hex
  codeHash: Hex
  storageHash: Hex
  storageProof: { key: Hex; value: Hex; proof: Hex[] }[]
}

let node: RunningNode
const account = privateKeyToAccount(DEV_ACCOUNTS[0]!.privateKey)
const recipient = DEV_ACCOUNTS[9]!.address
const token = tokenContract()
let tokenAddress: Address
let deployBlock: bigint
let transferBlock: bigint
const AMOUNT = 123_456_789n

/** Storage slot of `_balances[holder]` in OpenZeppelin's ERC20 (mapping at slot 0). */
const balanceSlot = (holder: Address) =>
  keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [holder, 0n]))
/** `_totalSupply` sits at slot 2. */
const TOTAL_SUPPLY_SLOT = pad('0x2')

beforeAll(async () => {
  node = await startNode({ blockTime: 0 })
  const chain = defineChain({
    id: 77077,
    name: 'Cairn dev',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [node.rpcUrl] } },
  })
  const publicClient = createPublicClient({ chain, transport: http(node.rpcUrl), pollingInterval: 100 })
  const wallet = createWalletClient({ account, chain, transport: http(node.rpcUrl) })
  const deployed = await publicClient.waitForTransactionReceipt({
    hash: await wallet.deployContract({ abi: token.abi, bytecode: token.bytecode }),
  })
  tokenAddress = deployed.contractAddress!
  deployBlock = deployed.blockNumber
  const transferred = await publicClient.waitForTransactionReceipt({
    hash: await wallet.writeContract({
      address: tokenAddress,
      abi: token.abi,
      functionName: 'transfer',
      args: [recipient, AMOUNT],
    }),
  })
  expect(transferred.status).toBe('success')
  transferBlock = transferred.blockNumber
})

afterAll(async () => {
  await node?.cleanup()
})

async function stateRootAt(block: bigint): Promise<Uint8Array> {
  const header = await rpc<{ stateRoot: Hex }>(node.rpcUrl, 'eth_getBlockByNumber', [`0x${block.toString(16)}`, false])
  return hexToBytes(header.stateRoot)
}

async function getProof(address: Address, slots: Hex[], block: bigint): Promise<ProofResponse> {
  return rpc<ProofResponse>(node.rpcUrl, 'eth_getProof', [address, slots, `0x${block.toString(16)}`])
}

const proofBytes = (proof: Hex[]) => proof.map((node) => hexToBytes(node))

/** Verifies the account proof against `stateRoot` and checks every field the node reported. */
async function verifyAccount(proof: ProofResponse, stateRoot: Uint8Array) {
  const value = await verifyMerkleProof(hexToBytes(proof.address), proofBytes(proof.accountProof), {
    useKeyHashing: true,
    root: stateRoot,
  })
  return value
}

/** Verifies a storage proof against the account's storageHash and returns the proven value. */
async function verifySlot(entry: ProofResponse['storageProof'][number], storageHash: Hex): Promise<bigint> {
  const value = await verifyMerkleProof(hexToBytes(pad(entry.key)), proofBytes(entry.proof), {
    useKeyHashing: true,
    root: hexToBytes(storageHash),
  })
  if (value === null) return 0n
  const decoded = fromRlp(bytesToHex(value), 'hex') as Hex
  return BigInt(decoded)
}

describe('eth_getProof against an independent MPT verifier', () => {
  it('proves the ERC-20 account and two of its storage slots against the block stateRoot', async () => {
    const block = transferBlock
    const proof = await getProof(tokenAddress, [balanceSlot(account.address), TOTAL_SUPPLY_SLOT], block)
    const accountRlp = await verifyAccount(proof, await stateRootAt(block))
    expect(accountRlp).not.toBeNull()
    const proven = createAccountFromRLP(accountRlp!)
    expect(proven.nonce).toBe(BigInt(proof.nonce))
    expect(proven.nonce).toBe(1n)
    expect(proven.balance).toBe(BigInt(proof.balance))
    expect(bytesToHex(proven.storageRoot)).toBe(proof.storageHash)
    expect(bytesToHex(proven.codeHash)).toBe(proof.codeHash)
    const code = await rpc<Hex>(node.rpcUrl, 'eth_getCode', [tokenAddress, `0x${block.toString(16)}`])
    expect(keccak256(code)).toBe(proof.codeHash)

    expect(proof.storageProof).toHaveLength(2)
    const [balanceEntry, supplyEntry] = proof.storageProof
    expect(await verifySlot(balanceEntry!, proof.storageHash)).toBe(10n ** 24n - AMOUNT)
    expect(BigInt(balanceEntry!.value)).toBe(10n ** 24n - AMOUNT)
    expect(await verifySlot(supplyEntry!, proof.storageHash)).toBe(10n ** 24n)
    expect(BigInt(supplyEntry!.value)).toBe(10n ** 24n)
  })

  it('proves a slot that changed between blocks with the value of each block', async () => {
    const slot = balanceSlot(recipient)
    const before = await getProof(tokenAddress, [slot], deployBlock)
    expect(await verifyAccount(before, await stateRootAt(deployBlock))).not.toBeNull()
    // absent before the transfer: a valid exclusion proof
    expect(await verifySlot(before.storageProof[0]!, before.storageHash)).toBe(0n)
    expect(BigInt(before.storageProof[0]!.value)).toBe(0n)

    const after = await getProof(tokenAddress, [slot], transferBlock)
    expect(after.storageHash).not.toBe(before.storageHash)
    expect(await verifySlot(after.storageProof[0]!, after.storageHash)).toBe(AMOUNT)
  })

  it('proves an externally owned account and the absence of an unknown one', async () => {
    const block = transferBlock
    const root = await stateRootAt(block)
    const eoa = await getProof(account.address, [], block)
    const proven = createAccountFromRLP((await verifyAccount(eoa, root))!)
    expect(proven.nonce).toBe(
      BigInt(await rpc<Hex>(node.rpcUrl, 'eth_getTransactionCount', [account.address, `0x${block.toString(16)}`])),
    )
    expect(proven.balance).toBe(
      BigInt(await rpc<Hex>(node.rpcUrl, 'eth_getBalance', [account.address, `0x${block.toString(16)}`])),
    )
    expect(proven.nonce).toBe(2n)

    const nobody = await getProof('0x00000000000000000000000000000000deadbeef', [], block)
    expect(await verifyAccount(nobody, root)).toBeNull()
    expect(BigInt(nobody.balance)).toBe(0n)
    expect(BigInt(nobody.nonce)).toBe(0n)
  })

  it('rejects tampered proofs and proofs checked against the wrong root', async () => {
    const block = transferBlock
    const root = await stateRootAt(block)
    const proof = await getProof(tokenAddress, [TOTAL_SUPPLY_SLOT], block)

    // flip one byte inside the leaf node of the account proof
    const tampered = [...proof.accountProof]
    const leaf = hexToBytes(tampered.at(-1)!)
    leaf[leaf.length - 5] = leaf[leaf.length - 5]! ^ 0xff
    tampered[tampered.length - 1] = bytesToHex(leaf)
    await expect(verifyAccount({ ...proof, accountProof: tampered }, root)).rejects.toThrow()

    // a correct proof of another block's state does not verify against this block's root
    await expect(verifyAccount(proof, await stateRootAt(deployBlock - 1n))).rejects.toThrow()

    // a storage proof only verifies against the storageHash, not against the state root
    const entry = proof.storageProof[0]!
    await expect(
      verifyMerkleProof(hexToBytes(entry.key), proofBytes(entry.proof), { useKeyHashing: true, root }),
    ).rejects.toThrow()

    // a tampered storage node fails too
    const storageTampered = [...entry.proof]
    const storageLeaf = hexToBytes(storageTampered.at(-1)!)
    storageLeaf[storageLeaf.length - 1] = storageLeaf[storageLeaf.length - 1]! ^ 0x01
    storageTampered[storageTampered.length - 1] = bytesToHex(storageLeaf)
    await expect(verifySlot({ ...entry, proof: storageTampered }, proof.storageHash)).rejects.toThrow()
  })
})
