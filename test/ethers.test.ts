import {
  ContractFactory,
  JsonRpcProvider,
  Network,
  NonceManager,
  Wallet,
  WebSocketProvider,
  isCallException,
  isError,
  parseEther,
  parseUnits,
  type Contract,
  type TransactionReceipt,
} from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_ACCOUNTS } from '@cairn/primitives'
import { tokenContract } from './src/contracts.ts'
import { type RunningNode, startNode } from './src/node-process.ts'

let node: RunningNode
const token = tokenContract()
const network = new Network('cairn-dev', 77077n)

beforeAll(async () => {
  node = await startNode({ blockTime: 1 })
})

afterAll(async () => {
  await node?.cleanup()
})

function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(message)), ms))])
}

type Provider = JsonRpcProvider | WebSocketProvider

/**
 * ethers' providers answer a request identical to one made in the last 250 ms from a cache
 * (`cacheTimeout`), without asking the node. A transaction sent to an idle dev chain is sealed tens
 * of milliseconds later, so the next send's `eth_getTransactionCount(sender, 'pending')` (and a
 * `latest` count read right after `tx.wait()`, which asked it too) got the count from before the
 * block: "nonce too low" now and then (ethers-io/ethers.js#4549, #5165). Turned off, as for any
 * chain that includes transactions this fast.
 */
const noCache = { cacheTimeout: -1 }

const providers: [string, () => Provider, number][] = [
  [
    'JsonRpcProvider',
    () => new JsonRpcProvider(node.rpcUrl, network, { staticNetwork: network, pollingInterval: 200, ...noCache }),
    1,
  ],
  ['WebSocketProvider', () => new WebSocketProvider(node.wsUrl, network, noCache), 2],
]

describe.each(providers)('ethers v6 %s', (name, makeProvider, accountIndex) => {
  let provider: Provider
  let wallet: Wallet
  let contract: Contract

  beforeAll(() => {
    provider = makeProvider()
    if (provider instanceof JsonRpcProvider) provider.pollingInterval = 200
    wallet = new Wallet(DEV_ACCOUNTS[accountIndex]!.privateKey, provider)
  })

  afterAll(async () => {
    // ethers unsubscribes in the background; let eth_uninstallFilter/eth_unsubscribe go out first.
    await new Promise((r) => setTimeout(r, 500))
    provider?.destroy()
  })

  it('reads the chain id and sends an ETH transfer', async () => {
    expect((await provider.getNetwork()).chainId).toBe(77077n)
    const recipient = Wallet.createRandom().address
    const before = await provider.getBalance(wallet.address)
    const tx = await wallet.sendTransaction({ to: recipient, value: parseEther('0.25') })
    expect(tx.type).toBe(2)
    const receipt = await tx.wait()
    expect(receipt?.status).toBe(1)
    expect(await provider.getBalance(recipient)).toBe(parseEther('0.25'))
    const after = await provider.getBalance(wallet.address)
    expect(before - after).toBe(parseEther('0.25') + receipt!.gasUsed * receipt!.gasPrice)
    expect(await provider.getTransactionCount(wallet.address)).toBe(tx.nonce + 1)
  })

  it('deploys an ERC-20 with ContractFactory, transfers it and queries Transfer events', async () => {
    const factory = new ContractFactory(token.abi as never, token.bytecode, wallet)
    contract = (await factory.deploy()) as Contract
    await contract.waitForDeployment()
    const address = await contract.getAddress()
    expect(await provider.getCode(address)).toBe(token.deployedBytecode)
    expect(await contract.getFunction('balanceOf')(wallet.address)).toBe(10n ** 24n)

    const recipient = DEV_ACCOUNTS[9]!.address
    const tx = await contract.getFunction('transfer')(recipient, 1000n)
    const receipt = await tx.wait()
    expect(receipt.status).toBe(1)
    expect(await contract.getFunction('balanceOf')(recipient)).toBe(1000n)

    const events = await contract.queryFilter(contract.filters.Transfer!(wallet.address, recipient), 0, 'latest')
    expect(events).toHaveLength(1)
    const event = events[0] as unknown as { args: [string, string, bigint]; transactionHash: string }
    expect(event.transactionHash).toBe(tx.hash)
    expect([...event.args]).toEqual([wallet.address, recipient, 1000n])
  })

  it('reports revert reasons through error.reason and error.revert', async () => {
    const poor = Wallet.createRandom().connect(provider)
    const asPoor = contract.connect(poor) as Contract
    const custom = await asPoor
      .getFunction('transfer')
      .staticCall(wallet.address, 5n)
      .catch((e: unknown) => e)
    expect(isCallException(custom)).toBe(true)
    const customError = custom as { revert: { name: string; args: unknown[] } | null; reason: string | null }
    expect(customError.revert?.name).toBe('ERC20InsufficientBalance')
    expect([...(customError.revert?.args ?? [])]).toEqual([poor.address, 0n, 5n])

    const required = await contract
      .getFunction('alwaysFails')
      .staticCall()
      .catch((e: unknown) => e)
    expect(isCallException(required)).toBe(true)
    expect((required as { reason: string }).reason).toBe('reason')
    expect((required as { revert: { name: string; args: unknown[] } }).revert.name).toBe('Error')

    // estimateGas (what a send does first) surfaces the same reason
    const estimate = await contract
      .getFunction('alwaysFails')
      .estimateGas()
      .catch((e: unknown) => e)
    expect(isCallException(estimate)).toBe(true)
    expect((estimate as { reason: string }).reason).toBe('reason')

    // a bare revert() is a revert without a reason, not "missing revert data"
    const bare = await provider.call({ data: '0x60006000fd' }).catch((e: unknown) => e)
    expect(isCallException(bare)).toBe(true)
    expect(bare as { data: string; reason: string | null }).toMatchObject({ data: '0x', reason: 'require(false)' })
  })

  it(`receives new blocks and Transfer events through ${name === 'WebSocketProvider' ? 'subscriptions' : 'polling filters'}`, async () => {
    const blocks: number[] = []
    const gotBlocks = new Promise<void>((resolve) => {
      const listener = (n: number) => {
        blocks.push(n)
        if (blocks.length === 2) resolve()
      }
      void provider.on('block', listener)
    })
    const recipient = DEV_ACCOUNTS[8]!.address
    const gotEvent = new Promise<[string, string, bigint]>((resolve) => {
      const listener = (from: string, to: string, value: bigint) => {
        if (to === recipient) resolve([from, to, value])
      }
      void contract.on('Transfer', listener)
    })
    await new Promise((r) => setTimeout(r, 500))
    const tx = await contract.getFunction('transfer')(recipient, 42n)
    await tx.wait()
    expect(await within(gotEvent, 30_000, 'no Transfer event arrived')).toEqual([wallet.address, recipient, 42n])
    await within(gotBlocks, 30_000, 'no block events arrived')
    expect(blocks[1]).toBeGreaterThan(blocks[0]!)
    await contract.removeAllListeners()
    await provider.removeAllListeners()
  })
})

describe('ethers v6 transaction types', () => {
  it('sends legacy (type 0, EIP-155) and access-list (type 1) transactions and reads fee data', async () => {
    const provider = new JsonRpcProvider(node.rpcUrl, network, {
      staticNetwork: network,
      pollingInterval: 200,
      ...noCache,
    })
    try {
      const wallet = new Wallet(DEV_ACCOUNTS[3]!.privateKey, provider)
      const fees = await provider.getFeeData()
      const latest = await provider.getBlock('latest')
      expect(fees.maxFeePerGas).toBeGreaterThan(latest!.baseFeePerGas!)
      expect(fees.maxPriorityFeePerGas).toBeGreaterThan(0n)
      expect(fees.gasPrice).toBeGreaterThan(0n)

      const recipient = '0x000000000000000000000000000000000000dEaD'
      const legacy = await wallet.sendTransaction({ to: recipient, value: 1n, type: 0 })
      const legacyReceipt = await legacy.wait()
      expect(legacyReceipt?.status).toBe(1)
      expect(legacyReceipt?.type).toBe(0)
      const mined = await provider.getTransaction(legacy.hash)
      expect(mined?.chainId).toBe(77077n)
      expect(mined?.gasPrice).toBe(legacy.gasPrice)

      const withList = await wallet.sendTransaction({
        to: recipient,
        value: 1n,
        type: 1,
        accessList: [{ address: recipient, storageKeys: [`0x${'00'.repeat(32)}`] }],
      })
      const listReceipt = await withList.wait()
      expect(listReceipt?.status).toBe(1)
      expect(listReceipt?.type).toBe(1)
      // 21000 + 2400 per address + 1900 per storage key
      expect(listReceipt?.gasUsed).toBe(25_300n)
      expect((await provider.getTransaction(withList.hash))?.accessList).toEqual([
        { address: recipient, storageKeys: [`0x${'00'.repeat(32)}`] },
      ])
    } finally {
      provider.destroy()
    }
  })
})

describe('ethers v6 nonces, broadcasts, confirmations and replacements', () => {
  const httpProvider = () =>
    new JsonRpcProvider(node.rpcUrl, network, { staticNetwork: network, pollingInterval: 200, ...noCache })

  it('NonceManager sends in parallel; populateTransaction + broadcastTransaction; getBlock(n, true); confirmations', async () => {
    const provider = httpProvider()
    try {
      const wallet = new Wallet(DEV_ACCOUNTS[4]!.privateKey, provider)
      const recipient = Wallet.createRandom().address
      const start = await provider.getTransactionCount(wallet.address, 'pending')
      const manager = new NonceManager(wallet)
      const sent = await Promise.all([1n, 2n, 3n].map((value) => manager.sendTransaction({ to: recipient, value })))
      expect(sent.map((tx) => tx.nonce)).toEqual([start, start + 1, start + 2])
      const receipts = (await Promise.all(sent.map((tx) => tx.wait()))) as TransactionReceipt[]
      expect(receipts.map((r) => r.status)).toEqual([1, 1, 1])
      expect(await provider.getBalance(recipient)).toBe(6n)

      // the pending count, not a cached one, numbers a transaction populated right after
      const populated = await wallet.populateTransaction({ to: recipient, value: 4n })
      expect(populated).toMatchObject({ type: 2, nonce: start + 3, gasLimit: 21_000n, chainId: 77077n })
      const signed = await wallet.signTransaction(populated)
      const broadcast = await provider.broadcastTransaction(signed)
      expect(broadcast.nonce).toBe(start + 3)
      // two more blocks on top of the one that includes it
      const confirmed = await provider.waitForTransaction(broadcast.hash, 3, 30_000)
      expect(confirmed?.status).toBe(1)
      expect(await confirmed!.confirmations()).toBeGreaterThanOrEqual(3)

      const block = await provider.getBlock(confirmed!.blockNumber, true)
      const prefetched = block!.getPrefetchedTransaction(broadcast.hash)
      expect(prefetched).toMatchObject({
        from: wallet.address,
        nonce: start + 3,
        value: 4n,
        blockNumber: block!.number,
      })
      expect(block!.prefetchedTransactions.map((tx) => tx.hash)).toEqual(block!.transactions)
    } finally {
      provider.destroy()
    }
  })

  it('rejects wait() of a repriced transaction with TRANSACTION_REPLACED; decodes custom errors of a refused estimate', async () => {
    const provider = httpProvider()
    try {
      const wallet = new Wallet(DEV_ACCOUNTS[5]!.privateKey, provider)
      const recipient = Wallet.createRandom().address
      const nonce = await provider.getTransactionCount(wallet.address, 'pending')
      const transfer = (n: number, gwei: string) =>
        wallet.sendTransaction({
          to: recipient,
          value: 1n,
          nonce: n,
          gasLimit: 21_000n,
          maxFeePerGas: parseUnits(gwei, 'gwei'),
          maxPriorityFeePerGas: parseUnits('1', 'gwei'),
        })
      // Nonce + 1 waits behind a gap, so no block takes it before it is replaced.
      const original = await transfer(nonce + 1, '10')
      expect((await provider.getTransaction(original.hash))?.blockNumber).toBeNull()
      const replacement = await wallet.sendTransaction({
        to: recipient,
        value: 1n,
        nonce: nonce + 1,
        gasLimit: 21_000n,
        maxFeePerGas: parseUnits('11', 'gwei'),
        maxPriorityFeePerGas: parseUnits('1.1', 'gwei'),
      })
      await transfer(nonce, '10')
      const replaced = await within(
        original.wait().catch((e: unknown) => e),
        30_000,
        'wait() of the replaced transaction did not settle',
      )
      expect(isError(replaced, 'TRANSACTION_REPLACED')).toBe(true)
      const error = replaced as { reason: string; cancelled: boolean; hash: string; receipt: TransactionReceipt }
      expect(error).toMatchObject({ reason: 'repriced', cancelled: false, hash: replacement.hash })
      expect(error.receipt.status).toBe(1)

      // A send's estimate fails with the revert data; ethers decodes only Error and Panic there,
      // the contract's interface decodes the custom error.
      const factory = new ContractFactory(token.abi as never, token.bytecode, wallet)
      const contract = (await factory.deploy()) as Contract
      await contract.waitForDeployment()
      const refused = await contract
        .getFunction('transfer')(recipient, 10n ** 25n)
        .catch((e: unknown) => e)
      expect(isCallException(refused)).toBe(true)
      const exception = refused as { action: string; data: string; revert: unknown; transaction: { to: string } }
      expect(exception).toMatchObject({ action: 'estimateGas', revert: null })
      expect(exception.transaction.to).toBe(await contract.getAddress())
      const parsed = contract.interface.parseError(exception.data)
      expect(parsed?.name).toBe('ERC20InsufficientBalance')
      expect([...(parsed?.args ?? [])]).toEqual([wallet.address, 10n ** 24n, 10n ** 25n])

      // sent anyway (a gas limit skips the estimate): mined, reverted, and wait() says so with the receipt
      const failing = await contract.getFunction('alwaysFails').send({ gasLimit: 100_000n })
      const mined = await failing.wait().catch((e: unknown) => e)
      expect(isCallException(mined)).toBe(true)
      expect(mined as { action: string; receipt: TransactionReceipt }).toMatchObject({ action: 'sendTransaction' })
      expect((mined as { receipt: TransactionReceipt }).receipt).toMatchObject({ status: 0, hash: failing.hash })
    } finally {
      provider.destroy()
    }
  })

  it.each([
    ['JsonRpcProvider', httpProvider],
    ['WebSocketProvider', () => new WebSocketProvider(node.wsUrl, network, noCache)],
  ] as const)('%s emits pending transactions and a transaction hash once it is mined', async (_name, make) => {
    const provider: Provider = make()
    try {
      const wallet = new Wallet(DEV_ACCOUNTS[4]!.privateKey, provider)
      const pending: string[] = []
      await provider.on('pending', (hash: string) => pending.push(hash))
      await new Promise((r) => setTimeout(r, 500))
      const tx = await wallet.sendTransaction({ to: DEV_ACCOUNTS[9]!.address, value: 1n })
      const mined = await within(
        new Promise<TransactionReceipt>((resolve) => void provider.once(tx.hash, resolve)),
        30_000,
        'no event for the transaction hash',
      )
      expect(mined).toMatchObject({ hash: tx.hash, status: 1 })
      const deadline = Date.now() + 10_000
      while (!pending.includes(tx.hash) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      expect(pending).toContain(tx.hash)
      // once() took its own listener off; removeAllListeners() racing that would stop ethers' block
      // subscriber twice (an unhandled rejection inside ethers)
      await provider.off('pending')
      await new Promise((r) => setTimeout(r, 500))
    } finally {
      provider.destroy()
    }
  })
})
