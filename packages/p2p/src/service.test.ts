import { afterEach, describe, expect, it } from 'vitest'
import { bytesToHex, isCairnError } from '@cairn/primitives'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { readBlockHeader } from './block-rlp.ts'
import {
  IMPOSTOR_KEY,
  type TestNode,
  makeChain,
  metricValue,
  signBlock,
  startNode,
  tempDir,
  waitFor,
} from './test-utils.ts'

const pendingHash = (hash: Uint8Array, addedAt = Date.now()) => ({ hash, hashHex: bytesToHex(hash), addedAt })

// Real libp2p nodes over TCP on 127.0.0.1, several per process. Every wait is bounded; nothing is timed.

const cleanups: Array<() => Promise<void>> = []

async function node(options: Parameters<typeof startNode>[1] = {}, datadir?: string): Promise<TestNode> {
  let dir = datadir
  if (dir === undefined) {
    const tmp = await tempDir()
    cleanups.push(tmp.remove)
    dir = tmp.path
  }
  const n = await startNode(dir, options)
  cleanups.unshift(() => n.service.stop())
  return n
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

const tx = (tag: number, valid = true): Uint8Array => new Uint8Array([valid ? 0x02 : 0xff, tag >> 8, tag & 0xff, 0xaa])

function bootnode(n: TestNode): string {
  const addr = n.service.multiaddrs()[0]
  if (addr === undefined) throw new Error('node has no listen address')
  return addr
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<string> {
  try {
    await promise
  } catch (error) {
    if (isCairnError(error, code)) return error.message
    throw error
  }
  throw new Error(`expected ${code}, but the call succeeded`)
}

describe('P2PService', () => {
  it('three services form a mesh via a bootnode, find each other through the DHT, and relay a validated transaction', async () => {
    const a = await node()
    const b = await node({ bootnodes: [bootnode(a)] })
    const c = await node({ bootnodes: [bootnode(a)] })
    // B and C only know A; the DHT walk introduces them to each other.
    await waitFor('a full mesh of three', () => [a, b, c].every((n) => n.service.peerCount() === 2))
    await waitFor('tx topic subscriptions', () => [a, b, c].every((n) => n.service.gossipPeers('tx') === 2))

    const raw = tx(1)
    expect(await b.service.publishTransaction(raw)).toBeGreaterThan(0)
    await waitFor('the transaction at A and C', () => a.received.tx.length === 1 && c.received.tx.length === 1)
    expect(a.received.tx[0]).toEqual(raw)
    expect(c.received.tx[0]).toEqual(raw)
    // Validated once per node (duplicates by message id are dropped before validation); never echoed to the publisher.
    expect(a.seen.tx).toHaveLength(1)
    expect(c.seen.tx).toHaveLength(1)
    expect(b.received.tx).toHaveLength(0)
    expect(await metricValue(a.registry, 'cairn_p2p_validation_results_total', { topic: 'tx', result: 'accept' })).toBe(
      1,
    )
    expect(await metricValue(b.registry, 'cairn_p2p_messages_published_total', { topic: 'tx' })).toBe(1)
    await waitFor('the peers gauge', async () => (await metricValue(a.registry, 'cairn_p2p_peers')) === 2)

    // Publishing the same bytes again is the same message: nobody validates it twice.
    await b.service.publishTransaction(raw)
    await c.service.publishTransaction(tx(2))
    await waitFor('the second transaction at A and B', () => a.received.tx.length === 2 && b.received.tx.length === 1)
    expect(a.seen.tx).toHaveLength(2)
  })

  it('gossips transactions in batches; a batch with an invalid one is rejected and not forwarded, its valid ones kept', async () => {
    // A line B — A — C: everything C gets came through A.
    const a = await node()
    const b = await node({ bootnodes: [bootnode(a)], maxPeers: 1 })
    const c = await node({ bootnodes: [bootnode(a)], maxPeers: 1 })
    await waitFor('tx subscriptions', () => a.service.gossipPeers('tx') === 2 && c.service.gossipPeers('tx') === 1)
    await waitFor('B sees A subscribed', () => b.service.gossipPeers('tx') === 1)
    const txResults = (n: TestNode, result: string) => metricValue(n.registry, 'cairn_p2p_gossip_txs_total', { result })

    // Published in one turn: one message.
    await Promise.all([tx(1), tx(2), tx(3, false)].map((raw) => b.service.publishTransaction(raw)))
    await waitFor('A validating the batch', async () => (await txResults(a, 'reject')) === 1)
    expect(await metricValue(b.registry, 'cairn_p2p_messages_published_total', { topic: 'tx' })).toBe(1)
    expect(await txResults(a, 'accept')).toBe(2)
    expect(a.received.tx).toEqual([tx(1), tx(2)])
    expect(await metricValue(a.registry, 'cairn_p2p_validation_results_total', { topic: 'tx', result: 'reject' })).toBe(
      1,
    )
    expect(a.service.peers().find((p) => p.peerId === b.service.peerId.toString())?.score).toBeLessThan(0)

    await Promise.all([tx(4), tx(5)].map((raw) => b.service.publishTransaction(raw)))
    await waitFor('the valid batch at C', () => c.received.tx.length === 2)
    expect(c.received.tx).toEqual([tx(4), tx(5)])
    // C never saw the rejected batch: A did not forward it.
    expect(c.seen.tx).toEqual([tx(4), tx(5)])
    expect(await metricValue(c.registry, 'cairn_p2p_messages_received_total', { topic: 'tx' })).toBe(1)
  })

  it('accepts a block signed by the preconfer and rejects a forged one without forwarding it', async () => {
    // A line B — A — C: B and C may hold one peer each, so everything C gets came through A.
    const a = await node()
    const b = await node({ bootnodes: [bootnode(a)], maxPeers: 1 })
    const c = await node({ bootnodes: [bootnode(a)], maxPeers: 1 })
    await waitFor('A sees both', () => a.service.peerCount() === 2)
    await waitFor(
      'block topic subscriptions',
      () =>
        [b, c].every((n) => n.service.gossipPeers('preconf-block') === 1) &&
        a.service.gossipPeers('preconf-block') === 2,
    )
    const [genesis, block1] = makeChain(2) as [Uint8Array, Uint8Array]

    const forged = signBlock(genesis, IMPOSTOR_KEY)
    await b.service.publishBlock(forged)
    await waitFor(
      'A rejecting the forged block',
      async () =>
        (await metricValue(a.registry, 'cairn_p2p_validation_results_total', {
          topic: 'preconf-block',
          result: 'reject',
        })) === 1,
    )
    const good = signBlock(block1)
    await b.service.publishBlock(good)
    await waitFor('the signed block at C', () => c.received.block.length === 1)

    expect(c.received.block[0]).toEqual(good)
    expect(a.received.block).toEqual([good])
    // C's validator only ever saw the good block: A did not forward the forged one.
    expect(c.seen.block).toEqual([good])
    expect(a.seen.block).toHaveLength(2)
    expect(a.service.peers().find((p) => p.peerId === b.service.peerId.toString())?.score).toBeLessThan(0)
    expect(await metricValue(a.registry, 'cairn_p2p_block_arrival_latency_seconds', { le: '+Inf' })).toBe(1)
    // Max peers is respected: B, full with A, turns away a new peer, and never met C.
    expect(b.service.peerCount()).toBe(1)
    const d = await node()
    // The dial may fail outright or finish the handshake and then be closed by B's gater.
    await d.service.connect(bootnode(b)).catch(() => undefined)
    const bId = b.service.peerId.toString()
    await waitFor('D turned away by B', () => !d.service.peers().some((p) => p.peerId === bId))
    expect(b.service.peerCount()).toBe(1)
    expect(b.service.peers().map((p) => p.peerId)).toEqual([a.service.peerId.toString()])
  })

  it('lets a late joiner fetch blocks by range and by hash, and refuses a peer that serves the wrong chain', async () => {
    const chain = makeChain(10)
    const byHash = new Map(chain.map((b) => [Buffer.from(readBlockHeader(b).hash).toString('hex'), b]))
    const a = await node()
    a.service.serveBlocks({
      byNumber: async (n) => chain[Number(n)],
      byHash: async (h) => byHash.get(Buffer.from(h).toString('hex')),
    })
    // A liar that answers number n with block n+1.
    const liar = await node({ bootnodes: [bootnode(a)] })
    liar.service.serveBlocks({ byNumber: async (n) => chain[Number(n) + 1], byHash: async () => undefined })

    const late = await node({ bootnodes: [bootnode(a)] })
    await waitFor('the late joiner connected to A', () =>
      late.service.peers().some((p) => p.peerId === a.service.peerId.toString()),
    )

    expect(await late.service.requestBlocksByRange(a.service.peerId, 0n, 10)).toEqual(chain)
    // A range past the head returns what exists.
    expect(await late.service.requestBlocksByRange(a.service.peerId.toString(), 7n, 8)).toEqual(chain.slice(7))
    expect(await late.service.requestBlocksByRange(a.service.peerId, 50n, 3)).toEqual([])
    const hash5 = readBlockHeader(chain[5] as Uint8Array).hash
    expect(await late.service.requestBlockByHash(a.service.peerId, hash5)).toEqual(chain[5])
    expect(await late.service.requestBlockByHash(a.service.peerId, new Uint8Array(32))).toBeUndefined()

    expect(
      await expectCode(late.service.requestBlocksByRange(a.service.peerId, 0n, 65), 'P2P_REQUEST_INVALID'),
    ).toMatch(/1\.\.64/)

    await late.service.connect(bootnode(liar))
    const lie = await expectCode(late.service.requestBlocksByRange(liar.service.peerId, 2n, 3), 'P2P_BAD_RESPONSE')
    expect(lie).toMatch(/number 3, expected 2/)
    expect(late.service.peers().find((p) => p.peerId === liar.service.peerId.toString())?.score).toBeLessThan(0)

    // A node that serves nothing says so.
    const empty = await node()
    await late.service.connect(bootnode(empty))
    expect(await expectCode(late.service.requestBlocksByRange(empty.service.peerId, 0n, 1), 'P2P_PEER_ERROR')).toMatch(
      /does not serve blocks/,
    )
    expect(
      await metricValue(a.registry, 'cairn_p2p_reqresp_requests_total', {
        protocol: 'blocks-by-range',
        direction: 'inbound',
        result: 'ok',
      }),
    ).toBe(3)
  })

  it('penalizes, disconnects and bans a peer flooding invalid transactions while honest ones keep flowing', async () => {
    const a = await node()
    const honest = await node({ bootnodes: [bootnode(a)] })
    const attacker = await node({ bootnodes: [bootnode(a)] })
    await waitFor('tx subscriptions at A', () => a.service.gossipPeers('tx') >= 2)
    await waitFor('attacker sees A subscribed', () => attacker.service.gossipPeers('tx') >= 1)
    await waitFor('honest sees A subscribed', () => honest.service.gossipPeers('tx') >= 1)
    const attackerId = attacker.service.peerId.toString()

    let tag = 0
    for (let i = 0; i < 20; i++) {
      await attacker.service.publishTransaction(tx(1000 + i, false))
      await honest.service.publishTransaction(tx(tag++))
    }
    await waitFor('A banning the attacker', () => a.service.isBanned(attackerId))
    await waitFor('the attacker disconnected from A', () => !a.service.peers().some((p) => p.peerId === attackerId))
    const aId = a.service.peerId.toString()
    await waitFor('the attacker seeing the hang-up', () => !attacker.service.peers().some((p) => p.peerId === aId))

    // Honest traffic keeps flowing after the ban.
    const before = a.received.tx.length
    for (let i = 0; i < 5; i++) await honest.service.publishTransaction(tx(tag++))
    await waitFor('honest transactions after the ban', () => a.received.tx.length >= before + 5)
    expect(a.received.tx.every((raw) => raw[0] === 0x02)).toBe(true)
    expect(a.service.isBanned(honest.service.peerId)).toBe(false)
    expect(a.service.bannedPeers().map((b) => b.peer)).toEqual([attackerId])
    expect(await metricValue(a.registry, 'cairn_p2p_bans_total')).toBe(1)
    // Rejected at least five times (the threshold; validations already under way when the ban lands finish too).
    expect(
      await metricValue(a.registry, 'cairn_p2p_validation_results_total', { topic: 'tx', result: 'reject' }),
    ).toBeGreaterThanOrEqual(5)

    // The banned peer cannot come back: A drops its connection during the upgrade (its dial may
    // complete the handshake, then is closed); and A refuses to dial it.
    await attacker.service.connect(bootnode(a)).catch(() => undefined)
    await waitFor('the attacker refused by A', () => !attacker.service.peers().some((p) => p.peerId === aId))
    expect(a.service.peers().some((p) => p.peerId === attackerId)).toBe(false)
    expect(await expectCode(a.service.connect(bootnode(attacker)), 'P2P_DIAL_FAILED')).toMatch(/gater|denied|refused/i)
  })

  it('re-announces a pooled transaction that a peer dropped from gossip, and the peer fetches it by hash once', async () => {
    const dropped = tx(7)
    const hashOf = (raw: Uint8Array) => Buffer.from(keccak_256(raw)).toString('hex')
    // A holds `dropped` pending in its pool and announces it again after 300 ms in the pool. It lists it
    // only once B has dropped the gossiped copy: listed earlier, its first announcement could reach B
    // before the gossip does, and B would drop the fetched copy and accept the gossiped one.
    const a = await node({ reannounce: { ageMs: 300 } })
    const pool = new Map([[hashOf(dropped), dropped]])
    const pending = pendingHash(keccak_256(dropped))
    let listed = false
    let walks = 0
    a.service.serveTransactions({
      pendingHashes: () => {
        walks++
        return listed ? [pending] : []
      },
      rawTransaction: (hash) => pool.get(Buffer.from(hash).toString('hex')),
      knows: (hash) => pool.has(Buffer.from(hash).toString('hex')),
    })
    // Alone, A has no one to announce to and does not walk its pool (rounds run every 75 ms).
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(walks).toBe(0)
    // B drops the first copy, as when its validation times out or is shed under load.
    const validated: Uint8Array[] = []
    const bPool = new Set<string>()
    const b = await node({
      bootnodes: [bootnode(a)],
      validators: {
        async transaction(raw) {
          validated.push(raw)
          if (validated.length === 1) return 'ignore'
          bPool.add(hashOf(raw))
          return 'accept'
        },
        block: async () => 'ignore',
      },
    })
    b.service.serveTransactions({
      pendingHashes: () => [],
      rawTransaction: () => undefined,
      knows: (hash) => bPool.has(Buffer.from(hash).toString('hex')),
    })
    await waitFor('tx subscriptions', () => a.service.gossipPeers('tx') === 1 && b.service.gossipPeers('tx') === 1)

    expect(await a.service.publishTransaction(dropped)).toBe(1)
    await waitFor('B dropping the gossiped copy', () => validated.length >= 1)
    listed = true
    // Gossiping the same bytes again does not help: B's seen-cache treats them as a duplicate.
    await a.service.publishTransaction(dropped)
    await waitFor('the re-announced transaction fetched and accepted by B', () => b.received.tx.length === 1)
    expect(b.received.tx[0]).toEqual(dropped)
    expect(validated).toEqual([dropped, dropped])
    expect(await metricValue(b.registry, 'cairn_p2p_fetched_txs_total', { result: 'accept' })).toBe(1)
    expect(await metricValue(a.registry, 'cairn_p2p_txs_reannounced_total')).toBeGreaterThanOrEqual(1)

    // A announces it again later (backing off); B knows it now and fetches nothing more.
    const announced = await metricValue(a.registry, 'cairn_p2p_txs_reannounced_total')
    await waitFor(
      'the next announcement, known to B',
      async () => (await metricValue(b.registry, 'cairn_p2p_announced_tx_hashes_total', { result: 'known' })) >= 1,
    )
    expect(await metricValue(a.registry, 'cairn_p2p_txs_reannounced_total')).toBeGreaterThan(announced)
    expect(await metricValue(b.registry, 'cairn_p2p_announced_tx_hashes_total', { result: 'fetch' })).toBe(1)
    expect(validated).toHaveLength(2)
  })

  it('re-announces nothing while it lags the chain, and its pending transactions once it has caught up', async () => {
    const raw = tx(8)
    // A lags: it holds blocks it has not imported, whose transactions its pool still lists as pending.
    const a = await node({ reannounce: { ageMs: 100 } })
    let lagging = true
    let walks = 0
    a.service.serveTransactions({
      pendingHashes: () => {
        walks++
        return [pendingHash(keccak_256(raw), Date.now() - 1_000)]
      },
      rawTransaction: () => raw,
      knows: () => true,
      lagging: () => lagging,
    })
    const b = await node({ bootnodes: [bootnode(a)] })
    b.service.serveTransactions({ pendingHashes: () => [], rawTransaction: () => undefined, knows: () => true })
    await waitFor('tx subscriptions', () => a.service.gossipPeers('tx') === 1 && b.service.gossipPeers('tx') === 1)
    // Rounds run every 25 ms: many pass, and none walks the pool or announces.
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(walks).toBe(0)
    expect(await metricValue(a.registry, 'cairn_p2p_txs_reannounced_total')).toBe(0)

    lagging = false
    await waitFor(
      'the announcement once A has caught up',
      async () => (await metricValue(b.registry, 'cairn_p2p_announced_tx_hashes_total', { result: 'known' })) >= 1,
    )
    expect(walks).toBeGreaterThan(0)
    expect(await metricValue(a.registry, 'cairn_p2p_txs_reannounced_total')).toBeGreaterThanOrEqual(1)
  })

  it('answers pooled-txs with the transactions it has, and penalizes a peer that answers with others', async () => {
    const [t1, t2, t3] = [tx(1), tx(2), tx(3)]
    const serve = (raws: Uint8Array[], answer: (hash: Uint8Array) => Uint8Array | undefined) => ({
      pendingHashes: () => raws.map((raw) => pendingHash(keccak_256(raw))),
      rawTransaction: answer,
      knows: () => false,
    })
    const byHash = new Map([t1, t2].map((raw) => [Buffer.from(keccak_256(raw)).toString('hex'), raw]))
    const a = await node({ reannounce: { ageMs: 0 } })
    a.service.serveTransactions(serve([t1, t2], (hash) => byHash.get(Buffer.from(hash).toString('hex'))))
    const liar = await node({ reannounce: { ageMs: 0 } })
    liar.service.serveTransactions(serve([t1], () => t3))
    const asker = await node({ bootnodes: [bootnode(a), bootnode(liar)], reannounce: { ageMs: 0 } })
    await waitFor('the asker connected to both', () => asker.service.peerCount() === 2)

    const hashes = [t1, t3, t2].map((raw) => keccak_256(raw))
    expect(await asker.service.requestPooledTransactions(a.service.peerId, hashes)).toEqual([t1, t2])
    expect(
      await expectCode(asker.service.requestPooledTransactions(liar.service.peerId, [hashes[0]!]), 'P2P_BAD_RESPONSE'),
    ).toMatch(/not asked for/)
    expect(asker.service.peers().find((p) => p.peerId === liar.service.peerId.toString())?.score).toBeLessThan(0)
    expect(
      await expectCode(asker.service.requestPooledTransactions(a.service.peerId, []), 'P2P_REQUEST_INVALID'),
    ).toMatch(/1\.\.256/)
  })

  it('serves its signed head to a peer that connects behind it, and nothing to one that is not', async () => {
    const chain = makeChain(4)
    const head = signBlock(chain[3] as Uint8Array)
    const a = await node()
    a.service.serveBlocks({
      byNumber: async (n) => chain[Number(n)],
      byHash: async () => undefined,
      signedHead: async () => head,
    })
    // Ask when the peer joins the block topic, as a follower does.
    const late = await node()
    const heads: Array<Promise<unknown>> = []
    late.service.onBlockTopicPeer((peer) => {
      const request = late.service.requestHead(peer, 1n)
      // Later joins (the plain node below) are not awaited; one may still be in flight when the nodes stop.
      request.catch(() => undefined)
      heads.push(request)
    })
    await late.service.connect(bootnode(a))
    await waitFor('the block-topic peer handler', () => heads.length === 1)
    expect(await heads[0]).toEqual(head)
    expect(await late.service.requestHead(a.service.peerId, 3n)).toBeUndefined()
    // A node without a signed head answers with none.
    const plain = await node()
    plain.service.serveBlocks({ byNumber: async () => undefined, byHash: async () => undefined })
    await late.service.connect(bootnode(plain))
    expect(await late.service.requestHead(plain.service.peerId, 0n)).toBeUndefined()
  })

  it('skips gossip when no peer subscribes to the topic', async () => {
    const lone = await node()
    expect(await lone.service.publishTransaction(tx(1))).toBe(0)
    expect(await lone.service.publishBlock(signBlock(makeChain(1)[0] as Uint8Array))).toBe(0)
    expect(await metricValue(lone.registry, 'cairn_p2p_messages_published_total')).toBe(0)
  })

  it('keeps its peer id across restarts (key in the datadir)', async () => {
    const dir = await tempDir()
    cleanups.push(dir.remove)
    const first = await startNode(dir.path)
    const id = first.service.peerId.toString()
    await first.service.stop()
    const second = await node({}, dir.path)
    expect(second.service.peerId.toString()).toBe(id)
    const other = await node()
    expect(other.service.peerId.toString()).not.toBe(id)
  })
})
