import { type Hex, parseGwei } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, describe, expect, it } from 'vitest'
import { DEV_ACCOUNTS } from '@cairn/primitives'
import { type RunningNode, rpc, startNode } from './src/node-process.ts'

interface BlockJson {
  number: Hex
  hash: Hex
  parentHash: Hex
  stateRoot: Hex
  transactions: Hex[]
}

const CHAIN_ID = 77077
const VALUE = 1_000_000_000_000n
const senders = [DEV_ACCOUNTS[1]!, DEV_ACCOUNTS[2]!, DEV_ACCOUNTS[3]!].map((a) => privateKeyToAccount(a.privateKey))
/** Fresh recipients, so their balances count exactly the transfers that landed. */
let recipients: Hex[] = []

const nodes: RunningNode[] = []
afterAll(async () => {
  for (const node of nodes.reverse()) await node.cleanup()
})

const hex = (n: bigint | number) => `0x${n.toString(16)}`

async function signTransfer(index: number, nonce: number): Promise<Hex> {
  return senders[index]!.signTransaction({
    type: 'eip1559',
    chainId: CHAIN_ID,
    nonce,
    to: recipients[index]!,
    value: VALUE,
    gas: 21_000n,
    maxFeePerGas: parseGwei('20'),
    maxPriorityFeePerGas: parseGwei('1'),
  })
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/**
 * Streams transfers at the node, SIGKILLs it once it has announced `minBlocks` blocks, restarts it
 * on the same datadir and checks nothing announced or acknowledged was lost. Returns how many
 * acknowledged transactions were still pending right after the restart.
 */
async function killAndRestart(
  blockTime: number,
  minBlocks: bigint,
): Promise<{ pendingAfterRestart: number; restoredFromJournal: number }> {
  recipients = senders.map(() => privateKeyToAccount(generatePrivateKey()).address)
  const first = await startNode({ blockTime })
  nodes.push(first)
  const datadir = first.datadir

  // Stream transactions from three senders; remember every hash the node acknowledged.
  const acknowledged = new Map<Hex, { sender: number; nonce: number }>()
  let killed = false
  const streams = senders.map(async (_, index) => {
    let nonce = 0
    while (!killed) {
      const raw = await signTransfer(index, nonce)
      try {
        const hash = await rpc<Hex>(first.rpcUrl, 'eth_sendRawTransaction', [raw])
        acknowledged.set(hash, { sender: index, nonce })
        nonce++
      } catch (error) {
        if ((error as { rpcError?: unknown }).rpcError === undefined) return // the node is gone
        // refused (e.g. the per-sender pool limit): let a block drain the pool and retry
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  })

  // Record every block the node announced, up to the head at the moment it dies.
  const seen = new Map<bigint, BlockJson>()
  const observe = async () => {
    const latest = await rpc<BlockJson>(first.rpcUrl, 'eth_getBlockByNumber', ['latest', false])
    for (let n = 0n; n <= BigInt(latest.number); n++) {
      if (seen.has(n)) continue
      seen.set(n, await rpc<BlockJson>(first.rpcUrl, 'eth_getBlockByNumber', [hex(n), false]))
    }
    return BigInt(latest.number)
  }
  await waitFor(`${minBlocks} blocks under load`, async () => (await observe()) >= minBlocks)
  await first.kill()
  killed = true
  await Promise.all(streams)
  expect(first.process.signalCode).toBe('SIGKILL')
  expect(acknowledged.size).toBeGreaterThan(20)
  const lastSeenHead = [...seen.keys()].reduce((a, b) => (a > b ? a : b))

  const second = await startNode({ blockTime, datadir })
  nodes.push(second)

  // Every block announced before the kill is still there, unchanged.
  const head = BigInt(await rpc<Hex>(second.rpcUrl, 'eth_blockNumber'))
  expect(head).toBeGreaterThanOrEqual(lastSeenHead)
  for (const [n, before] of seen) {
    const after = await rpc<BlockJson>(second.rpcUrl, 'eth_getBlockByNumber', [hex(n), false])
    expect(after, `block ${n}`).not.toBeNull()
    expect(
      {
        number: after.number,
        hash: after.hash,
        parentHash: after.parentHash,
        stateRoot: after.stateRoot,
        transactions: after.transactions,
      },
      `block ${n}`,
    ).toEqual({
      number: before.number,
      hash: before.hash,
      parentHash: before.parentHash,
      stateRoot: before.stateRoot,
      transactions: before.transactions,
    })
  }

  // No acknowledged transaction is lost: each is included or still pending (and then included).
  let pendingAfterRestart = 0
  for (const hash of acknowledged.keys()) {
    const tx = await rpc<{ blockNumber: Hex | null } | null>(second.rpcUrl, 'eth_getTransactionByHash', [hash])
    expect(tx, `acknowledged transaction ${hash}`).not.toBeNull()
    if (tx!.blockNumber === null) pendingAfterRestart++
  }
  await waitFor('all acknowledged transactions to be included', async () => {
    for (const hash of acknowledged.keys()) {
      const receipt = await rpc<{ status: Hex } | null>(second.rpcUrl, 'eth_getTransactionReceipt', [hash])
      if (receipt === null) return false
      expect(receipt.status).toBe('0x1')
    }
    return true
  })

  // Nonces and balances agree with the transfers that landed: every acknowledged one, plus at most
  // the one request per sender that was in flight at the kill (accepted, but its answer never came).
  for (const [index, sender] of senders.entries()) {
    const sent = BigInt([...acknowledged.values()].filter((t) => t.sender === index).length)
    const nonce = BigInt(await rpc<Hex>(second.rpcUrl, 'eth_getTransactionCount', [sender.address, 'latest']))
    expect(nonce).toBeGreaterThanOrEqual(sent)
    expect(nonce).toBeLessThanOrEqual(sent + 1n)
    expect(BigInt(await rpc<Hex>(second.rpcUrl, 'eth_getBalance', [recipients[index]!, 'latest']))).toBe(VALUE * nonce)
  }

  // And it keeps going: a new transaction is accepted and sealed on top of the old chain.
  const nextNonce = Number(
    BigInt(await rpc<Hex>(second.rpcUrl, 'eth_getTransactionCount', [senders[0]!.address, 'pending'])),
  )
  const hash = await rpc<Hex>(second.rpcUrl, 'eth_sendRawTransaction', [await signTransfer(0, nextNonce)])
  await waitFor(
    'the post-restart transaction',
    async () => (await rpc(second.rpcUrl, 'eth_getTransactionReceipt', [hash])) !== null,
  )
  const newHead = await rpc<BlockJson>(second.rpcUrl, 'eth_getBlockByNumber', ['latest', false])
  expect(BigInt(newHead.number)).toBeGreaterThan(lastSeenHead)
  const parent = await rpc<BlockJson>(second.rpcUrl, 'eth_getBlockByNumber', [hex(BigInt(newHead.number) - 1n), false])
  expect(newHead.parentHash).toBe(parent.hash)

  // A clean stop and a second restart see the same chain.
  await second.stop()
  expect(second.process.exitCode).toBe(0)
  const third = await startNode({ blockTime, datadir })
  nodes.push(third)
  const reopened = await rpc<BlockJson>(third.rpcUrl, 'eth_getBlockByNumber', [newHead.number, false])
  expect(reopened.hash).toBe(newHead.hash)
  await third.stop()
  return { pendingAfterRestart, restoredFromJournal: restoredCount(second.logs()) }
}

/** How many transactions the node said it restored from the mempool journal at start (its JSON log). */
function restoredCount(logs: string): number {
  for (const line of logs.split('\n')) {
    if (!line.startsWith('{')) continue
    const entry = JSON.parse(line) as { msg?: string; restored?: number }
    if (entry.msg === 'restored mempool transactions from the journal') return entry.restored ?? 0
  }
  return 0
}

describe('restart after kill -9', () => {
  it('keeps every announced block and acknowledged transaction with one block per transaction', async () => {
    await killAndRestart(0, 20n)
  })

  it('restores transactions still in the mempool at the kill from the journal (1 s blocks)', async () => {
    const { restoredFromJournal } = await killAndRestart(1, 4n)
    // Transactions stream in far faster than one block a second, so some were waiting at the kill
    // and came back from the journal (the checks above saw every one of them included).
    expect(restoredFromJournal).toBeGreaterThan(0)
  })
})
