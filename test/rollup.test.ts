// The rollup end to end, against real processes: anvil L1, the L1 suite, a sequencer node, the
// proposer, a follower on the sequencer's p2p network and a follower that builds its chain from L1
// alone (started by the devnet module).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { batchFromBlobs } from '@cairn/batch'
import { DEV_ACCOUNTS, devGenesis } from '@cairn/primitives'
import {
  bytesToHex,
  createPublicClient,
  createWalletClient,
  type Hex,
  hexToBytes,
  http,
  keccak256,
  parseGwei,
  toRlp,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  batchChainProblem,
  firstDifference,
  proposedBatches,
  rpcCall,
  sendTransfers,
  startTestDevnet,
  syncStatus,
  type TestDevnet,
  waitFor,
  waitForReceipts,
} from './src/devnet-helpers.ts'
import { startNode } from './src/node-process.ts'

describe('rollup devnet: sequencer → proposer → L1 blobs → follower', () => {
  let devnet: TestDevnet
  let lastTxBlock = 0n
  const context = () => devnet.logTails()

  beforeAll(async () => {
    // Follower 1 gets preconfirmed blocks over p2p; follower 2 has p2p off and reads only L1.
    devnet = await startTestDevnet({
      followers: 2,
      followerArgs: (i) => (i === 1 ? ['--p2p.enabled', 'false'] : []),
    })
  })
  afterAll(async () => {
    await devnet?.cleanup()
  })

  it('describes every endpoint, contract and key in devnet.json', async () => {
    const info = JSON.parse(readFileSync(devnet.infoFile, 'utf8'))
    expect(info.l1.rpc).toBe(devnet.info.l1.rpc)
    expect(await devnet.l1.getChainId()).toBe(info.l1.chainId)
    expect(await devnet.sequencerClient.getChainId()).toBe(info.l2.chainId)
    expect(await devnet.followerClients[0]!.getChainId()).toBe(info.l2.chainId)
    expect(info.l2.followers).toHaveLength(2)
    expect(info.l2.sequencer.p2p.multiaddr).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
    expect(await devnet.l1.getCode({ address: info.contracts.inbox })).toMatch(/^0x[0-9a-f]{10,}/)
    expect(info.accounts.dev).toHaveLength(10)
    expect(info.accounts.proposer.address).toBe(DEV_ACCOUNTS[1]!.address)
    // The genesis the L1 suite was initialized with is the chain the nodes run.
    const genesis = await devnet.sequencerClient.getBlock({ blockNumber: 0n })
    expect(genesis.hash).toBe(info.l2.genesis.blockHash)
    expect(genesis.stateRoot).toBe(info.l2.genesis.stateRoot)
    const { inboxAbi } = await import('@cairn/contracts')
    const checkpoint = await devnet.l1.readContract({
      address: info.contracts.inbox,
      abi: inboxAbi,
      functionName: 'getCheckpoint',
      args: [0n],
    })
    expect(checkpoint.blockHash).toBe(genesis.hash)
    expect(checkpoint.stateRoot).toBe(genesis.stateRoot)
    // Given only the deployment file, every node searches L1 for proposals from the block it records.
    const deployment = JSON.parse(readFileSync(info.deploymentFile, 'utf8'))
    const deployed = await devnet.l1.getBlock({ blockNumber: BigInt(deployment.startBlock.number) })
    expect(deployed.hash).toBe(deployment.startBlock.hash)
    // A process's last log line with this message, once it has logged one (the prover may still be starting).
    const lastLine = (process: { logs(): string }, message: string) =>
      waitFor(
        `${message} in the log`,
        async () => {
          const line = process
            .logs()
            .split('\n')
            .findLast((text) => text.includes(`"msg":"${message}"`))
          return line === undefined ? undefined : JSON.parse(line)
        },
        { timeoutMs: 60_000, context },
      )
    expect((await lastLine(devnet.prover, 'prover started')).l1StartBlock).toBe(deployment.startBlock.number)
    for (const node of [devnet.sequencer, ...devnet.followers]) {
      expect(await lastLine(node, 'node started')).toMatchObject({
        inbox: info.contracts.inbox,
        l1StartBlock: deployment.startBlock.number,
      })
    }
    expect(deployment.startBlock.number).toBeGreaterThan(info.l1.startBlock)
  })

  it('puts transactions sent to the sequencer into L1 blobs, and the follower derives the same blocks', async () => {
    const { info } = devnet
    const hashes = [
      ...(await sendTransfers(info.l2.sequencer.rpc, info.l2.chainId, DEV_ACCOUNTS[3]!.privateKey, 12)),
      ...(await sendTransfers(info.l2.sequencer.rpc, info.l2.chainId, DEV_ACCOUNTS[4]!.privateKey, 12)),
    ]
    lastTxBlock = await waitForReceipts(devnet.sequencerClient, hashes, { context })

    const batches = await waitFor(
      `a BatchProposed covering L2 block ${lastTxBlock}`,
      async () => {
        const all = await proposedBatches(devnet.l1, info.contracts.inbox)
        return all.length > 0 && all.at(-1)!.lastBlockId >= lastTxBlock ? all : undefined
      },
      { timeoutMs: 90_000, context },
    )
    expect(batchChainProblem(batches)).toBeUndefined()
    expect(batches.every((b) => b.proposer === info.accounts.proposer.address)).toBe(true)

    // Every transaction is in the blobs of the proposal covering its block, byte for byte.
    const rawInBlobs = new Set<string>()
    for (const batch of batches) {
      const blobs = await rpcCall<Hex[]>(info.l1.rpc, 'anvil_getBlobsByTransactionHash', [batch.txHash])
      expect(blobs.length).toBe(batch.blobHashes.length)
      const decoded = batchFromBlobs(blobs.map((b) => hexToBytes(b)))
      expect(decoded.ok).toBe(true)
      if (!decoded.ok) continue
      expect(decoded.manifest.blocks.length).toBe(Number(batch.lastBlockId - batch.firstBlockId + 1n))
      for (const block of decoded.manifest.blocks) for (const tx of block.transactions) rawInBlobs.add(bytesToHex(tx))
    }
    for (const hash of hashes) {
      const raw = await rpcCall<Hex>(info.l2.sequencer.rpc, 'eth_getRawTransactionByHash', [hash])
      expect(rawInBlobs.has(raw)).toBe(true)
    }

    // The follower that only reads L1 reaches the same blocks: hashes and state roots agree.
    const follower = devnet.followerClients[1]!
    await waitFor(
      `the L1-only follower's safe head to reach ${lastTxBlock}`,
      async () => (await syncStatus(info.l2.followers[1]!.rpc)).safe.number >= Number(lastTxBlock),
      { timeoutMs: 60_000, context },
    )
    expect(await firstDifference(devnet.sequencerClient, follower, 0n, lastTxBlock)).toBeUndefined()
    for (const hash of hashes) {
      const receipt = await follower.getTransactionReceipt({ hash })
      expect(receipt.status).toBe('success')
    }
    // The sequencer's own safe head follows L1 too.
    await waitFor(
      `the sequencer's safe head to reach ${lastTxBlock}`,
      async () => (await syncStatus(info.l2.sequencer.rpc)).safe.number >= Number(lastTxBlock),
      { timeoutMs: 30_000, context },
    )
  })

  it('gossips preconfirmed blocks: the p2p follower serves the sequencer blocks as latest', async () => {
    const { info } = devnet
    const peers = await rpcCall<Hex>(info.l2.followers[0]!.rpc, 'net_peerCount')
    expect(Number(peers)).toBeGreaterThanOrEqual(1)
    const hashes = await sendTransfers(info.l2.sequencer.rpc, info.l2.chainId, DEV_ACCOUNTS[5]!.privateKey, 3)
    const block = await waitForReceipts(devnet.sequencerClient, hashes, { context })
    const sealed = await devnet.sequencerClient.getBlock({ blockNumber: block })
    // Through L1 this takes the proposer's batch age, an L1 block and a poll: seconds. Over p2p, milliseconds.
    const onFollower = await waitFor(
      `the p2p follower to serve L2 block ${block}`,
      async () => devnet.followerClients[0]!.getBlock({ blockNumber: block }).catch(() => undefined),
      { timeoutMs: 10_000, intervalMs: 50, context },
    )
    expect(onFollower.hash).toBe(sealed.hash)
    expect(onFollower.stateRoot).toBe(sealed.stateRoot)
    const status = await syncStatus(info.l2.followers[0]!.rpc)
    expect(status.latest.number).toBeGreaterThanOrEqual(Number(block))
    for (const hash of hashes)
      expect((await devnet.followerClients[0]!.getTransactionReceipt({ hash })).status).toBe('success')
  })

  it('reports sensible heads in cairn_syncStatus, and finality follows L1 finality', async () => {
    const { info } = devnet
    for (const url of [info.l2.sequencer.rpc, ...info.l2.followers.map((f) => f.rpc)]) {
      const status = await syncStatus(url)
      const l1Head = Number(await devnet.l1.getBlockNumber())
      expect(status.l1Head).not.toBeNull()
      expect(status.l1Head!.number).toBeLessThanOrEqual(l1Head)
      expect(status.l1Head!.number).toBeGreaterThan(l1Head - 10)
      expect(status.l1Finalized!.number).toBeLessThanOrEqual(status.l1Head!.number)
      expect(status.l1Derived!.number).toBeLessThanOrEqual(status.l1Head!.number)
      expect(status.latest.number).toBeGreaterThanOrEqual(status.safe.number)
      expect(status.safe.number).toBeGreaterThanOrEqual(status.finalized.number)
      // The safe block is the sequencer's block at that height.
      const onSequencer = await devnet.sequencerClient.getBlock({ blockNumber: BigInt(status.safe.number) })
      expect(status.safe.hash).toBe(onSequencer.hash)
    }
    // A follower without p2p has no preconfirmed blocks: everything it has came from L1.
    const followerStatus = await syncStatus(info.l2.followers[1]!.rpc)
    expect(followerStatus.latest.number).toBe(followerStatus.safe.number)

    // Once the proposals' L1 blocks are finalized (2 × slots behind), the finalized head covers them.
    await waitFor(
      `the follower's finalized head to reach ${lastTxBlock}`,
      async () => (await syncStatus(info.l2.followers[0]!.rpc)).finalized.number >= Number(lastTxBlock),
      { timeoutMs: 60_000, context },
    )
    const finalized = await devnet.followerClients[0]!.getBlock({ blockTag: 'finalized' })
    const onSequencer = await devnet.sequencerClient.getBlock({ blockNumber: finalized.number })
    expect(finalized.hash).toBe(onSequencer.hash)
  })

  it('executes a forced inclusion stored on L1 at the start of the batch that consumes it, on every node', async () => {
    const { info } = devnet
    const { forcedInclusionStoreAbi } = await import('@cairn/contracts')
    // An L2 transfer signed by its sender, who posts it on L1 (the L1 key is the same dev key).
    const sender = privateKeyToAccount(DEV_ACCOUNTS[7]!.privateKey)
    const recipient = privateKeyToAccount(`0x${'42'.repeat(32)}`).address
    const nonce = await devnet.sequencerClient.getTransactionCount({ address: sender.address, blockTag: 'pending' })
    const raw = await sender.signTransaction({
      chainId: info.l2.chainId,
      type: 'eip1559',
      to: recipient,
      value: 12_345n,
      nonce,
      gas: 21_000n,
      maxFeePerGas: parseGwei('10'),
      maxPriorityFeePerGas: 1n,
    })
    const store = info.contracts.forcedInclusionStore
    const fee = await devnet.l1.readContract({ address: store, abi: forcedInclusionStoreAbi, functionName: 'fee' })
    const l1Wallet = createWalletClient({ account: sender, transport: http(info.l1.rpc) })
    const stored = await l1Wallet.writeContract({
      chain: null,
      address: store,
      abi: forcedInclusionStoreAbi,
      functionName: 'storeForcedInclusion',
      // txList: an RLP list of raw signed transactions.
      args: [toRlp([raw])],
      value: fee,
    })
    expect((await devnet.l1.waitForTransactionReceipt({ hash: stored })).status).toBe('success')

    // The proposer consumes it once due; the L1-only follower and the sequencer (after L1 replaces its
    // preconfirmed block) both execute it.
    for (const [name, url] of [
      ['L1-only follower', info.l2.followers[1]!.rpc],
      ['sequencer', info.l2.sequencer.rpc],
    ] as const) {
      const client = createPublicClient({ transport: http(url) })
      await waitFor(
        `the ${name} to execute the forced transfer`,
        async () => (await client.getBalance({ address: recipient })) === 12_345n,
        { timeoutMs: 120_000, context },
      )
    }
    const batches = await proposedBatches(devnet.l1, info.contracts.inbox)
    const consuming = batches.find((b) => b.forcedInclusions > 0)
    expect(consuming).toBeDefined()
    const follower = devnet.followerClients[1]!
    const first = await follower.getBlock({ blockNumber: consuming!.firstBlockId })
    expect(first.transactions[0]).toBe(keccak256(raw))
    expect((await follower.getTransactionReceipt({ hash: keccak256(raw) })).status).toBe('success')
  })

  it('derives nothing on a genesis that is not the one the Inbox settles, and says why', async () => {
    const { info } = devnet
    const dir = mkdtempSync(join(tmpdir(), 'cairn-e2e-wrong-genesis-'))
    const genesisFile = join(dir, 'genesis.json')
    // The plain dev chain: same sequencer accounts, but no Anchor predeploy and another chain id.
    writeFileSync(genesisFile, JSON.stringify(devGenesis()))
    const node = await startNode({
      dev: false,
      extraArgs: [
        '--genesis',
        genesisFile,
        '--l1.rpc',
        info.l1.rpc,
        '--l1.inbox',
        info.contracts.inbox,
        '--p2p.enabled',
        'false',
      ],
    })
    try {
      await waitFor("the node to refuse the Inbox's chain", async () => node.logs().includes('GENESIS_NOT_INBOX'), {
        timeoutMs: 30_000,
        context: () => node.logs(),
      })
      expect(node.logs()).toContain(info.l2.genesis.blockHash)
      const status = await syncStatus(node.rpcUrl)
      expect(status.safe.number).toBe(0)
      expect(status.l1Derived).toBeNull()
    } finally {
      await node.cleanup()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
