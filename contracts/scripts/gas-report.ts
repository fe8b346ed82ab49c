// Gas of the L1 hot paths, measured from real transaction receipts on a fresh anvil (prague):
//   npm run gas -w @cairn/contracts
import { startAnvil } from '@cairn/anvil'
import { keccak256, toHex } from 'viem'
import { forcedInclusionStoreAbi, inboxAbi } from '../src-ts/index.ts'
import { proposeWithBlobs, proveWithTee } from '../test/helpers/batches.ts'
import { deployTestSuite, GENESIS_BLOCK_HASH } from '../test/helpers/suite.ts'

const BLOB_DATA_BYTES = 126_000 // fills one blob with viem's toBlobs encoding

function transition(batchId: bigint, parentHash: `0x${string}`) {
  return {
    parentHash,
    blockHash: keccak256(toHex(`block ${batchId}`)),
    stateRoot: keccak256(toHex(`state ${batchId}`)),
  }
}

async function main(): Promise<void> {
  const anvil = await startAnvil({ hardfork: 'prague' })
  try {
    // One verification per prove, so verification can also be measured on its own.
    const suite = await deployTestSuite(anvil.rpcUrl, { maxBatchesToVerify: 1 })
    const rows: [string, bigint, string][] = []

    const filler = (bytes: number) => toHex(new Uint8Array(bytes).fill(0xab))
    const one = await proposeWithBlobs(suite, filler(BLOB_DATA_BYTES), 4)
    rows.push(['proposeBatch, 1 blob, 4 blocks (batch 1)', one.receipt.gasUsed, `blob gas ${one.receipt.blobGasUsed}`])
    const six = await proposeWithBlobs(suite, filler(6 * BLOB_DATA_BYTES), 4)
    rows.push([
      `proposeBatch, ${six.blobs.length} blobs, 4 blocks (batch 2)`,
      six.receipt.gasUsed,
      `blob gas ${six.receipt.blobGasUsed}`,
    ])
    const again = await proposeWithBlobs(suite, filler(BLOB_DATA_BYTES), 4)
    rows.push(['proposeBatch, 1 blob, 4 blocks (batch 3, warm state)', again.receipt.gasUsed, ''])

    const t1 = transition(1n, GENESIS_BLOCK_HASH)
    const t2 = transition(2n, t1.blockHash)
    const proveOnly = await proveWithTee(suite, [{ batchId: 2n, metaHash: six.metaHash, transition: t2 }])
    rows.push(['proveBatches, 1 batch, TEE proof, parent unverified (no verification)', proveOnly.gasUsed, ''])
    const proveAndVerify = await proveWithTee(suite, [{ batchId: 1n, metaHash: one.metaHash, transition: t1 }])
    rows.push(['proveBatches, 1 batch, TEE proof, verifies it', proveAndVerify.gasUsed, ''])
    const verifyHash = await suite.wallet.writeContract({
      address: suite.addresses.inbox,
      abi: inboxAbi,
      functionName: 'verifyBatches',
      args: [1],
    })
    const verify = await suite.wait(verifyHash)
    rows.push(['verifyBatches, 1 proven batch', verify.gasUsed, ''])

    const fiHash = await suite.wallet.writeContract({
      address: suite.addresses.store,
      abi: forcedInclusionStoreAbi,
      functionName: 'storeForcedInclusion',
      args: [filler(200)],
      value: 10n ** 15n,
    })
    rows.push(['storeForcedInclusion, 200 bytes calldata', (await suite.wait(fiHash)).gasUsed, ''])

    const state = await suite.publicClient.readContract({
      address: suite.addresses.inbox,
      abi: inboxAbi,
      functionName: 'getState',
    })
    if (state.lastVerifiedBatchId !== 2n)
      throw new Error(`expected 2 verified batches, got ${state.lastVerifiedBatchId}`)

    console.log('| operation | gas used | note |')
    console.log('| --- | ---: | --- |')
    for (const [name, gas, note] of rows) console.log(`| ${name} | ${gas.toLocaleString('en-US')} | ${note} |`)
  } finally {
    await anvil.stop()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
