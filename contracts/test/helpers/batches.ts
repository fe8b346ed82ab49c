import cKzg from 'c-kzg'
import { type Address, defineKzg, type Hex, type Kzg, parseEventLogs, parseGwei, toBlobs } from 'viem'
import { sign } from 'viem/accounts'
import {
  aggregatePublicInputs,
  type BatchMeta,
  encodeComposeProof,
  encodeTeeProof,
  inboxAbi,
  publicInputHash,
  type Transition,
  VERIFIER_IDS,
} from '../../src-ts/index.ts'
import { TEE_INSTANCE_KEY, TEST_L2_CHAIN_ID, type deployTestSuite } from './suite.ts'

type Suite = Awaited<ReturnType<typeof deployTestSuite>>

let kzg: Kzg | undefined
/** c-kzg with its bundled mainnet trusted setup, loaded once per process (~2 s). */
export function loadKzg(): Kzg {
  if (!kzg) {
    cKzg.loadTrustedSetup(0)
    kzg = defineKzg(cKzg)
  }
  return kzg
}

/** Proposes one batch whose data fill `blobCount` blobs; returns the receipt and the decoded event. */
export async function proposeWithBlobs(suite: Suite, data: Hex, blockCount = 2, numForcedInclusions = 0) {
  const { publicClient, proposerWallet, addresses } = suite
  const blobs = toBlobs({ data })
  const latest = await publicClient.getBlock()
  const state = await publicClient.readContract({ address: addresses.inbox, abi: inboxAbi, functionName: 'getState' })
  const blocks = Array.from({ length: blockCount }, () => ({
    timestamp: latest.timestamp,
    gasLimit: 30_000_000,
    coinbase: suite.proposer.address,
  }))
  const hash = await proposerWallet.writeContract({
    address: addresses.inbox,
    abi: inboxAbi,
    functionName: 'proposeBatch',
    args: [
      {
        parentMetaHash: state.lastMetaHash,
        // Mined in the next block, whose parent (the L1 origin) is the current head.
        anchorBlockId: latest.number,
        numBlobs: blobs.length,
        numForcedInclusions,
        blocks,
      },
    ],
    blobs,
    kzg: loadKzg(),
    maxFeePerBlobGas: parseGwei('30'),
  })
  const receipt = await suite.wait(hash)
  const [event] = parseEventLogs({ abi: inboxAbi, eventName: 'BatchProposed', logs: receipt.logs })
  if (!event) throw new Error('no BatchProposed event')
  return { hash, receipt, blobs, meta: event.args.meta as BatchMeta, metaHash: event.args.metaHash }
}

/** Proves batches with a TEE sub-proof signed by the registered test instance. */
export async function proveWithTee(
  suite: Suite,
  batches: { batchId: bigint; metaHash: Hex; transition: Transition }[],
  prover: { address: Address; wallet: Suite['wallet'] } = {
    address: suite.wallet.account.address,
    wallet: suite.wallet,
  },
) {
  const inputs = batches.map((b) =>
    publicInputHash({ chainId: TEST_L2_CHAIN_ID, batchMetaHash: b.metaHash, ...b.transition, prover: prover.address }),
  )
  const aggregate = aggregatePublicInputs(inputs)
  const signature = await sign({ hash: aggregate, privateKey: TEE_INSTANCE_KEY, to: 'hex' })
  const proof = encodeComposeProof([
    { verifierId: VERIFIER_IDS.TEE, proof: encodeTeeProof(suite.instance.address, signature) },
  ])
  const hash = await prover.wallet.writeContract({
    address: suite.addresses.inbox,
    abi: inboxAbi,
    functionName: 'proveBatches',
    args: [batches.map((b) => b.batchId), batches.map((b) => b.transition), proof],
  })
  return suite.wait(hash)
}
