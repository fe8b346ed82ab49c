// Who may sign preconfirmed blocks, decided on L1: a devnet (anvil, the L1 suite, a sequencer signing
// with the whitelisted proposer key, a follower with --l1.rpc and no --p2p.preconfer) and an
// in-process libp2p peer that gossips blocks signed by a key the whitelist does not hold, then does.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Address,
  type Hex,
  createWalletClient,
  fromRlp,
  hexToBytes,
  http,
  keccak256,
  numberToHex,
  parseEther,
  toRlp,
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { P2PService, signPreconfBlock } from '@cairn/p2p'
import { DEV_ACCOUNTS } from '@cairn/primitives'
import { type TestDevnet, rpcCall, sendTransfers, startTestDevnet, waitFor } from './src/devnet-helpers.ts'

const SEQUENCER_SIGNER = DEV_ACCOUNTS[1]! // the devnet's proposer: the only operator the whitelist starts with
const OUTSIDER = DEV_ACCOUNTS[5]! // a key the whitelist does not hold until the test adds it
const SENDER = DEV_ACCOUNTS[4]!

interface BlockJson {
  number: Hex
  hash: Hex
}
interface P2PStatus {
  peerId: string
  addresses: string[]
  peers: { peerId: string; score: number }[]
}

type RlpItem = Hex | RlpItem[]

/**
 * Block `raw` with its timestamp moved by `shift` seconds: a different block hash, yet it executes
 * exactly as the original (no state depends on the timestamp here), so signed by an allowed
 * preconfer it would replace the original. Only the signer decides whether it is taken.
 */
function retimed(raw: Hex, shift: bigint): { rlp: Hex; hash: Hex } {
  const [header, ...rest] = fromRlp(raw, 'hex') as RlpItem[]
  const fields = [...(header as Hex[])]
  const timestamp = BigInt(fields[11]!) + shift
  const hex = numberToHex(timestamp).slice(2)
  fields[11] = `0x${hex.length % 2 === 0 ? hex : `0${hex}`}`
  return { rlp: toRlp([fields, ...rest] as never), hash: keccak256(toRlp(fields)) }
}

describe('preconfirmed blocks on a follower that takes its preconfers from the L1 whitelist', () => {
  let devnet: TestDevnet
  let attacker: P2PService
  let followerRpc: string
  let sequencerRpc: string
  let chainId: bigint
  /** The sequencer's block the follower served in the first test. */
  let served: BlockJson
  const tmp = mkdtempSync(join(tmpdir(), 'cairn-p2p-whitelist-'))
  const context = () => devnet.logTails()

  const status = (url: string) => rpcCall<P2PStatus | null>(url, 'cairn_p2pStatus')
  const blockAt = (url: string, n: bigint) =>
    rpcCall<BlockJson | null>(url, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, false])
  const scoreOf = async (peerId: string) => (await status(followerRpc))?.peers.find((p) => p.peerId === peerId)?.score

  /** One transfer to the sequencer; with --block-time 0 it seals a block for it. Returns that block. */
  async function sequenceBlock(): Promise<BlockJson> {
    const [hash] = await sendTransfers(sequencerRpc, Number(chainId), SENDER.privateKey, 1)
    const receipt = await waitFor(
      'the transfer in a sequenced block',
      async () =>
        (await rpcCall<{ blockNumber: Hex } | null>(sequencerRpc, 'eth_getTransactionReceipt', [hash])) ?? undefined,
      { context },
    )
    return (await blockAt(sequencerRpc, BigInt(receipt.blockNumber)))!
  }

  /** The owner (the timelock, impersonated on anvil: its 60 s delay is governance, not what is tested) calls the whitelist. */
  async function asOwner(functionName: 'addOperator' | 'removeOperator', operator: Address): Promise<void> {
    const { preconfWhitelistAbi } = await import('@cairn/contracts')
    const { timelock, preconfWhitelist } = devnet.info.contracts
    await rpcCall(devnet.info.l1.rpc, 'anvil_impersonateAccount', [timelock])
    await rpcCall(devnet.info.l1.rpc, 'anvil_setBalance', [timelock, numberToHex(parseEther('1'))])
    const owner = createWalletClient({ account: timelock, transport: http(devnet.info.l1.rpc) })
    const hash = await owner.writeContract({
      address: preconfWhitelist,
      abi: preconfWhitelistAbi,
      functionName,
      args: [operator],
      chain: null,
    })
    const receipt = await devnet.l1.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')
  }

  /** Waits for the follower to log a whitelist read from L1 that has exactly `operators`. */
  async function followerSeesWhitelist(operators: Address[]): Promise<void> {
    const expected = operators.map((a) => a.toLowerCase()).sort()
    await waitFor(
      `the follower reading the whitelist [${expected.join(', ')}] from L1`,
      async () =>
        devnet.followers[0]!.logs()
          .split('\n')
          .filter((line) => line.includes('preconf whitelist read from L1'))
          .some((line) => JSON.stringify((JSON.parse(line).operators as string[]).sort()) === JSON.stringify(expected)),
      { context },
    )
  }

  async function publishSignedBy(key: Hex, block: { rlp: Hex; hash: Hex }): Promise<void> {
    await attacker.publishBlock(
      signPreconfBlock(hexToBytes(block.rlp), hexToBytes(block.hash), hexToBytes(key), chainId),
    )
  }

  beforeAll(async () => {
    // Blocks only when a transaction comes (--block-time 0), no proposer (nothing settles, so every
    // block stays preconfirmed), and the follower reads the whitelist every second.
    devnet = await startTestDevnet({
      followers: 1,
      l2BlockTime: 0,
      startProposer: false,
      startProver: false,
      followerArgs: ['--p2p.whitelist-refresh', '1'],
    })
    followerRpc = devnet.info.l2.followers[0]!.rpc
    sequencerRpc = devnet.info.l2.sequencer.rpc
    chainId = BigInt(devnet.info.l2.chainId)
    attacker = await P2PService.create({
      datadir: tmp,
      port: 0,
      // p2p starts just after the RPC answers: wait for its address.
      bootnodes: [await waitFor('the follower p2p address', async () => (await status(followerRpc))?.addresses[0])],
      maxPeers: 4,
      chainId,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      validators: { transaction: async () => 'ignore', block: async () => 'ignore' },
      discoveryIntervalMs: 60_000,
    })
    await attacker.start()
  })

  afterAll(async () => {
    await attacker?.stop()
    await devnet?.cleanup()
    rmSync(tmp, { recursive: true, force: true })
  })

  it('serves the blocks the whitelisted sequencer signs', async () => {
    await followerSeesWhitelist([SEQUENCER_SIGNER.address])
    // Gossip, not catch-up, is under test here (test/p2p-sync.test.ts covers a follower that joins late):
    // the first block is sealed once the follower is connected to the sequencer.
    const sequencerId = (await status(sequencerRpc))!.peerId
    await waitFor(
      'the follower connected to the sequencer',
      async () => (await status(followerRpc))?.peers.some((p) => p.peerId === sequencerId),
      { context },
    )
    served = await sequenceBlock()
    await waitFor(
      'the follower serving the block',
      async () => (await blockAt(followerRpc, BigInt(served.number)))?.hash === served.hash,
      { context },
    )
    const follower = devnet.followers[0]!.logs()
    expect(follower).toContain('imported preconfirmed block')
    expect(follower).toContain('the L1 preconf whitelist of Inbox')
  })

  it('refuses a block signed by a key not on the whitelist, and penalizes the peer that sent it', async () => {
    const attackerId = attacker.peerId.toString()
    await waitFor("the attacker on the follower's block topic", async () => attacker.gossipPeers('preconf-block') > 0, {
      context,
    })
    const raw = await rpcCall<Hex>(sequencerRpc, 'debug_getRawBlock', [served.number])
    const forged = retimed(raw, 1n)
    await publishSignedBy(OUTSIDER.privateKey, forged)

    await waitFor('the follower penalizing the sender', async () => ((await scoreOf(attackerId)) ?? 0) < 0, { context })
    expect(await rpcCall(followerRpc, 'eth_getBlockByHash', [forged.hash, false])).toBeNull()
    expect((await blockAt(followerRpc, BigInt(served.number)))?.hash).toBe(served.hash)
  })

  it('honours an operator added and one removed on L1 after the refresh period', async () => {
    // Added: the outsider's block (the same kind as before) is now taken and served.
    await asOwner('addOperator', OUTSIDER.address)
    await followerSeesWhitelist([SEQUENCER_SIGNER.address, OUTSIDER.address])
    const raw = await rpcCall<Hex>(sequencerRpc, 'debug_getRawBlock', [served.number])
    const signedByNewOperator = retimed(raw, 2n)
    await publishSignedBy(OUTSIDER.privateKey, signedByNewOperator)
    await waitFor(
      "the follower serving the new operator's block",
      async () => (await blockAt(followerRpc, BigInt(served.number)))?.hash === signedByNewOperator.hash,
      { context },
    )

    // Removed: the sequencer's next block is refused, and the sequencer (its sender) loses score.
    await asOwner('removeOperator', SEQUENCER_SIGNER.address)
    await followerSeesWhitelist([OUTSIDER.address])
    const sequencerId = (await status(sequencerRpc))!.peerId
    const before = (await scoreOf(sequencerId)) ?? 0
    const refused = await sequenceBlock()
    await waitFor('the follower penalizing the sequencer', async () => ((await scoreOf(sequencerId)) ?? 0) < before, {
      context,
    })
    expect(await rpcCall(followerRpc, 'eth_getBlockByHash', [refused.hash, false])).toBeNull()
    expect(await blockAt(followerRpc, BigInt(refused.number))).toBeNull()
  })
})
