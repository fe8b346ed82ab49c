import {
  BaseError,
  type Chain,
  ContractFunctionRevertedError,
  type Hex,
  type PublicClient,
  type Transport,
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeAbiParameters,
  encodeFunctionData,
  erc20Abi,
  hashMessage,
  keccak256,
  http,
  parseAbi,
  parseEther,
  parseEventLogs,
  parseGwei,
  serializeErc6492Signature,
  toHex,
  webSocket,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_ACCOUNTS, HISTORY_STORAGE_ADDRESS, MULTICALL3_ADDRESS } from '@cairn/primitives'
import { compileSolidity, tokenContract } from './src/contracts.ts'
import { type RunningNode, startNode } from './src/node-process.ts'

const cairnDev = (rpcUrl: string, wsUrl: string) =>
  defineChain({
    id: 77077,
    name: 'Cairn dev',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl], webSocket: [wsUrl] } },
  })

let node: RunningNode
let chain: Chain
const token = tokenContract()

beforeAll(async () => {
  node = await startNode({ blockTime: 1 })
  chain = cairnDev(node.rpcUrl, node.wsUrl)
})

afterAll(async () => {
  // viem caches one socket per URL; close it before the node goes away so it does not try to reconnect.
  if (chain !== undefined) {
    const value = webSocket(node.wsUrl)({ chain }).value as { getRpcClient(): Promise<{ close(): void }> }
    ;(await value.getRpcClient()).close()
  }
  await node?.cleanup()
})

/** Rejects with `message` unless `promise` settles within `ms` (a liveness guard, not a speed assertion). */
function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(message)), ms))])
}

function revertOf(error: unknown): ContractFunctionRevertedError {
  expect(error).toBeInstanceOf(BaseError)
  const revert = (error as BaseError).walk((e) => e instanceof ContractFunctionRevertedError)
  expect(revert).toBeInstanceOf(ContractFunctionRevertedError)
  return revert as ContractFunctionRevertedError
}

/** `holder`'s balance of the test token at `address` (balanceOf through eth_call). */
function tokenBalance(client: Pick<PublicClient, 'readContract'>, address: Hex, holder: Hex): Promise<bigint> {
  return client.readContract({ address, abi: token.abi, functionName: 'balanceOf', args: [holder] }) as Promise<bigint>
}

/** HTTP clients for dev account `index`: reads, and a wallet signing locally. */
function httpClients(index: number) {
  const transport = http(node.rpcUrl)
  const account = privateKeyToAccount(DEV_ACCOUNTS[index]!.privateKey)
  return {
    account,
    publicClient: createPublicClient({ chain, transport, pollingInterval: 200 }),
    wallet: createWalletClient({ account, chain, transport, pollingInterval: 200 }),
  }
}

const transports: [string, () => Transport, number][] = [
  ['HTTP', () => http(node.rpcUrl), 1],
  ['WebSocket', () => webSocket(node.wsUrl), 2],
]

describe.each(transports)('viem over %s', (_name, makeTransport, accountIndex) => {
  let publicClient: PublicClient
  const account = privateKeyToAccount(DEV_ACCOUNTS[accountIndex]!.privateKey)
  let transport: Transport
  let tokenAddress: Hex

  beforeAll(() => {
    transport = makeTransport()
    publicClient = createPublicClient({ chain, transport, pollingInterval: 200 }) as PublicClient
  })

  it('transfers ETH with default EIP-1559 fee estimation and updates both balances', async () => {
    const wallet = createWalletClient({ account, chain, transport, pollingInterval: 200 })
    const recipient = privateKeyToAccount(generatePrivateKey()).address
    const before = await publicClient.getBalance({ address: account.address })
    const hash = await wallet.sendTransaction({ to: recipient, value: parseEther('1.5') })
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')
    expect(receipt.type).toBe('eip1559')
    expect(receipt.gasUsed).toBe(21_000n)
    expect(await publicClient.getBalance({ address: recipient })).toBe(parseEther('1.5'))
    const after = await publicClient.getBalance({ address: account.address })
    expect(before - after).toBe(parseEther('1.5') + receipt.gasUsed * receipt.effectiveGasPrice)
    const tx = await publicClient.getTransaction({ hash })
    expect(tx.from.toLowerCase()).toBe(account.address.toLowerCase())
    expect(tx.blockNumber).toBe(receipt.blockNumber)
    // The including block's timestamp, as geth serves it since 2026 (viem reads it when present).
    const block = await publicClient.getBlock({ blockNumber: receipt.blockNumber })
    expect((tx as { blockTimestamp?: bigint }).blockTimestamp).toBe(block.timestamp)
  })

  it('deploys an OpenZeppelin ERC-20, transfers it and reads balances and Transfer logs', async () => {
    const wallet = createWalletClient({ account, chain, transport, pollingInterval: 200 })
    const deployHash = await wallet.deployContract({ abi: token.abi, bytecode: token.bytecode })
    const deployed = await publicClient.waitForTransactionReceipt({ hash: deployHash })
    expect(deployed.status).toBe('success')
    tokenAddress = deployed.contractAddress!
    expect(await publicClient.getCode({ address: tokenAddress })).toBe(token.deployedBytecode)
    expect(
      await publicClient.readContract({ address: tokenAddress, abi: token.abi, functionName: 'totalSupply' }),
    ).toBe(10n ** 24n)

    const recipient = DEV_ACCOUNTS[9]!.address
    const amount = 12_345n * 10n ** 18n
    const { request } = await publicClient.simulateContract({
      account,
      address: tokenAddress,
      abi: token.abi,
      functionName: 'transfer',
      args: [recipient, amount],
    })
    const hash = await wallet.writeContract(request)
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')
    const [event] = parseEventLogs({ abi: token.abi, logs: receipt.logs, eventName: 'Transfer' })
    expect(event?.args).toEqual({ from: account.address, to: recipient, value: amount })

    expect(await tokenBalance(publicClient, tokenAddress, recipient)).toBe(amount)
    expect(await tokenBalance(publicClient, tokenAddress, account.address)).toBe(10n ** 24n - amount)

    const contractEvents = await publicClient.getContractEvents({
      address: tokenAddress,
      abi: token.abi,
      eventName: 'Transfer',
      fromBlock: deployed.blockNumber,
    })
    expect(contractEvents.map((e) => e.args)).toEqual([
      { from: '0x0000000000000000000000000000000000000000', to: account.address, value: 10n ** 24n },
      { from: account.address, to: recipient, value: amount },
    ])
    const transferEvent = token.abi.find((item) => item.type === 'event' && item.name === 'Transfer')
    const logs = await publicClient.getLogs({
      address: tokenAddress,
      event: transferEvent as Extract<(typeof token.abi)[number], { type: 'event' }>,
      args: { to: recipient },
      fromBlock: 'earliest',
      toBlock: 'latest',
    })
    expect(logs).toHaveLength(1)
    expect(logs[0]!.transactionHash).toBe(hash)
    expect(logs[0]!.blockHash).toBe(receipt.blockHash)
  })

  it('surfaces revert reasons: a decoded custom error and a require string', async () => {
    const poor = privateKeyToAccount(generatePrivateKey())
    const transfer = publicClient.simulateContract({
      account: poor,
      address: tokenAddress,
      abi: token.abi,
      functionName: 'transfer',
      args: [account.address, 1n],
    })
    const custom = revertOf(await transfer.catch((e: unknown) => e))
    expect(custom.data?.errorName).toBe('ERC20InsufficientBalance')
    expect(custom.data?.args).toEqual([poor.address, 0n, 1n])

    const failing = publicClient.readContract({ address: tokenAddress, abi: token.abi, functionName: 'alwaysFails' })
    const reason = revertOf(await failing.catch((e: unknown) => e))
    expect(reason.reason).toBe('reason')

    // A sender with ETH for gas but no tokens: viem prepares fees for a local account before estimating.
    const noTokens = privateKeyToAccount(DEV_ACCOUNTS[5]!.privateKey)
    const estimate = publicClient.estimateContractGas({
      account: noTokens,
      address: tokenAddress,
      abi: token.abi,
      functionName: 'transfer',
      args: [account.address, 1n],
    })
    expect(revertOf(await estimate.catch((e: unknown) => e)).data?.errorName).toBe('ERC20InsufficientBalance')
  })

  it('estimates gas, reports fee history and resolves safe/finalized blocks', async () => {
    expect(await publicClient.estimateGas({ account, to: DEV_ACCOUNTS[8]!.address, value: 1n })).toBe(21_000n)
    const transferGas = await publicClient.estimateContractGas({
      account,
      address: tokenAddress,
      abi: token.abi,
      functionName: 'transfer',
      args: [DEV_ACCOUNTS[8]!.address, 1n],
    })
    expect(transferGas).toBeGreaterThan(21_000n)
    expect(transferGas).toBeLessThan(100_000n)

    const history = await publicClient.getFeeHistory({ blockCount: 4, rewardPercentiles: [25, 75] })
    expect(history.baseFeePerGas).toHaveLength(5)
    expect(history.gasUsedRatio).toHaveLength(4)
    expect(history.reward).toHaveLength(4)
    for (const fee of history.baseFeePerGas) expect(fee).toBeGreaterThan(0n)
    const latest = await publicClient.getBlock({ blockTag: 'latest' })
    expect(history.oldestBlock + 3n).toBeLessThanOrEqual(latest.number)

    const fees = await publicClient.estimateFeesPerGas()
    expect(fees.maxFeePerGas).toBeGreaterThan(latest.baseFeePerGas!)

    const safe = await publicClient.getBlock({ blockTag: 'safe' })
    const finalized = await publicClient.getBlock({ blockTag: 'finalized' })
    expect(safe.number).toBeLessThanOrEqual((await publicClient.getBlock({ blockTag: 'latest' })).number)
    expect(finalized.number).toBeLessThanOrEqual(safe.number)
    expect((await publicClient.getBlock({ blockNumber: safe.number })).hash).toBe(safe.hash)
  })

  it('returns an account and storage proof matching the state it proves', async () => {
    const blockNumber = await publicClient.getBlockNumber()
    const proof = await publicClient.getProof({
      address: tokenAddress,
      storageKeys: [`0x${'0'.repeat(64)}`, `0x${'2'.padStart(64, '0')}`],
      blockNumber,
    })
    expect(proof.address.toLowerCase()).toBe(tokenAddress.toLowerCase())
    expect(proof.accountProof.length).toBeGreaterThan(0)
    expect(proof.nonce).toBe(1)
    expect(proof.balance).toBe(0n)
    expect(proof.storageProof).toHaveLength(2)
    // slot 2 of OpenZeppelin's ERC20 is _totalSupply
    expect(proof.storageProof[1]!.value).toBe(10n ** 24n)
    expect(proof.storageProof[0]!.value).toBe(0n)
  })
})

describe('viem subscriptions over WebSocket', () => {
  it('watchBlocks and watchContractEvent receive new heads and Transfer events', async () => {
    const transport = webSocket(node.wsUrl)
    const publicClient = createPublicClient({ chain, transport, pollingInterval: 200 })
    const account = privateKeyToAccount(DEV_ACCOUNTS[3]!.privateKey)
    const wallet = createWalletClient({ account, chain, transport, pollingInterval: 200 })
    const deployHash = await wallet.deployContract({ abi: token.abi, bytecode: token.bytecode })
    const tokenAddress = (await publicClient.waitForTransactionReceipt({ hash: deployHash })).contractAddress!

    const blocks: bigint[] = []
    const gotBlocks = new Promise<void>((resolve, reject) => {
      const unwatch = publicClient.watchBlocks({
        onBlock: (block) => {
          blocks.push(block.number)
          if (blocks.length === 3) {
            unwatch()
            resolve()
          }
        },
        onError: reject,
      })
    })
    const events: { to: string; value: bigint }[] = []
    const recipient = DEV_ACCOUNTS[7]!.address
    const gotEvent = new Promise<void>((resolve, reject) => {
      const unwatch = publicClient.watchContractEvent({
        address: tokenAddress,
        abi: token.abi,
        eventName: 'Transfer',
        onLogs: (logs) => {
          for (const log of logs) events.push((log as unknown as { args: { to: string; value: bigint } }).args)
          unwatch()
          resolve()
        },
        onError: reject,
      })
    })
    // Give the subscriptions a moment to be registered before the event happens.
    await new Promise((r) => setTimeout(r, 300))
    const hash = await wallet.writeContract({
      address: tokenAddress,
      abi: token.abi,
      functionName: 'transfer',
      args: [recipient, 777n],
    })
    await publicClient.waitForTransactionReceipt({ hash })

    await within(gotEvent, 30_000, 'no Transfer event arrived over the WebSocket subscription')
    expect(events).toEqual([{ from: account.address, to: recipient, value: 777n }])
    await within(gotBlocks, 30_000, 'fewer than 3 blocks arrived over the WebSocket subscription')
    for (let i = 1; i < blocks.length; i++) expect(blocks[i]).toBe(blocks[i - 1]! + 1n)
  })

  it("a transactionReceipts subscription (geth's) delivers a named transaction's receipt once a block includes it", async () => {
    const account = privateKeyToAccount(DEV_ACCOUNTS[6]!.privateKey)
    const wallet = createWalletClient({ account, chain, transport: http(node.rpcUrl) })
    const serialized = await wallet.signTransaction(
      await wallet.prepareTransactionRequest({ to: DEV_ACCOUNTS[0]!.address, value: 3n }),
    )
    const hash = keccak256(serialized)
    const { subscribe } = webSocket(node.wsUrl)({ chain }).value!
    const notifications: unknown[] = []
    let received = () => {}
    const got = new Promise<void>((resolve) => {
      received = resolve
    })
    const { unsubscribe } = await subscribe({
      params: ['transactionReceipts', { transactionHashes: [hash] }] as never,
      onData: (data) => {
        notifications.push(data.result)
        received()
      },
      onError: () => {},
    })
    await wallet.sendRawTransaction({ serializedTransaction: serialized })
    await within(got, 30_000, 'no transactionReceipts notification arrived')
    await unsubscribe()
    const publicClient = createPublicClient({ chain, transport: http(node.rpcUrl) })
    const receipt = await publicClient.request({ method: 'eth_getTransactionReceipt', params: [hash] })
    expect(notifications).toEqual([[receipt]])
  })
})

describe('viem transaction types and receipts', () => {
  it('sends an EIP-7702 authorization, reports a reverted transaction and builds access lists', async () => {
    const { publicClient, account, wallet } = httpClients(4)

    // EIP-7702: the EOA delegates to a contract and its code becomes the delegation designator.
    const delegate = '0x000000000000000000000000000000000000dEaD'
    const authorization = await wallet.signAuthorization({ contractAddress: delegate, executor: 'self' })
    const setCode = await publicClient.waitForTransactionReceipt({
      hash: await wallet.sendTransaction({ authorizationList: [authorization], to: account.address }),
    })
    expect(setCode.status).toBe('success')
    expect(setCode.type).toBe('eip7702')
    expect(await publicClient.getCode({ address: account.address })).toBe(`0xef0100${delegate.slice(2).toLowerCase()}`)

    // A creation whose init code reverts is mined with status 0 and keeps its gas.
    const reverted = await publicClient.waitForTransactionReceipt({
      hash: await wallet.sendTransaction({ data: '0x60006000fd', gas: 100_000n }),
    })
    expect(reverted.status).toBe('reverted')
    expect(reverted.gasUsed).toBeGreaterThan(53_000n)
    expect(reverted.gasUsed).toBeLessThan(100_000n)

    // eth_createAccessList lists the storage a call touches, and the accounts it names other than
    // the sender, the call's target and precompiles (like geth). Init code that STATICCALLs
    // token.balanceOf(holder):
    const tokenHash = await wallet.deployContract({ abi: token.abi, bytecode: token.bytecode })
    const tokenAddress = (await publicClient.waitForTransactionReceipt({ hash: tokenHash })).contractAddress!
    const holder = DEV_ACCOUNTS[9]!.address
    const initCode =
      `0x6370a0823160e01b600052${`73${holder.slice(2)}`}600452602060006024600073${tokenAddress.slice(2)}5afa00` as Hex
    const { accessList, gasUsed } = await publicClient.createAccessList({ account, data: initCode })
    const balanceSlot = keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [holder, 0n]))
    expect(accessList.map((e) => ({ address: e.address.toLowerCase(), storageKeys: e.storageKeys }))).toEqual([
      { address: tokenAddress.toLowerCase(), storageKeys: [balanceSlot] },
    ])
    expect(gasUsed).toBeGreaterThan(53_000n)
    // a direct call to the token lists the token's own slots (geth leaves out only address-only
    // touches of the target): the sender's balance and the holder's
    const data = encodeFunctionData({ abi: token.abi, functionName: 'transfer', args: [holder, 1n] })
    const senderSlot = keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [account.address, 0n]))
    expect((await publicClient.createAccessList({ account, to: tokenAddress, data })).accessList).toEqual([
      { address: tokenAddress.toLowerCase(), storageKeys: [balanceSlot, senderSlot].sort() },
    ])
  })

  it('watchPendingTransactions over WebSocket sees a transaction before it is sealed', async () => {
    const transport = webSocket(node.wsUrl)
    const publicClient = createPublicClient({ chain, transport })
    const account = privateKeyToAccount(DEV_ACCOUNTS[5]!.privateKey)
    const wallet = createWalletClient({ account, chain, transport: http(node.rpcUrl) })
    const seen: Hex[] = []
    let unwatch = () => {}
    const got = new Promise<void>((resolve, reject) => {
      unwatch = publicClient.watchPendingTransactions({
        onTransactions: (hashes) => {
          seen.push(...hashes)
          resolve()
        },
        onError: reject,
      })
    })
    await new Promise((r) => setTimeout(r, 300))
    const hash = await wallet.sendTransaction({ to: DEV_ACCOUNTS[0]!.address, value: 1n })
    await within(got, 30_000, 'no pending transaction notification arrived')
    unwatch()
    expect(seen).toContain(hash)
  })
})

describe('viem synchronous sends (eth_sendRawTransactionSync, EIP-7966)', () => {
  /** The JSON-RPC error with `code` in `error`'s cause chain. */
  function rpcErrorWithCode(error: unknown, code: number): { code: number; data?: unknown } {
    expect(error).toBeInstanceOf(BaseError)
    const found = (error as BaseError).walk((e) => (e as { code?: unknown }).code === code)
    expect(found, `no error with code ${code} in: ${String(error)}`).not.toBeNull()
    return found as unknown as { code: number; data?: unknown }
  }

  it('returns receipts; refuses a nonce gap with code 5 and times out with code 4, both leaving the transaction pooled', async () => {
    const { publicClient, account, wallet } = httpClients(6)
    const recipient = privateKeyToAccount(generatePrivateKey()).address

    const receipt = await wallet.sendTransactionSync({ to: recipient, value: 7n })
    expect(receipt.status).toBe('success')
    expect(await publicClient.getTransactionReceipt({ hash: receipt.transactionHash })).toEqual(receipt)
    expect(await publicClient.getBalance({ address: recipient })).toBe(7n)

    // writeContractSync: the receipt carries the Transfer log
    const { contractAddress } = await publicClient.waitForTransactionReceipt({
      hash: await wallet.deployContract({ abi: token.abi, bytecode: token.bytecode }),
    })
    const transfer = await wallet.writeContractSync({
      address: contractAddress!,
      abi: token.abi,
      functionName: 'transfer',
      args: [recipient, 3n],
    })
    const [log] = parseEventLogs({ abi: token.abi, logs: transfer.logs, eventName: 'Transfer' })
    expect(log?.args).toEqual({ from: account.address, to: recipient, value: 3n })

    // A nonce one ahead waits in the pool for the missing one: code 5 at once, the hash as data.
    const nonce = await publicClient.getTransactionCount({ address: account.address })
    const sign = async (n: number) =>
      wallet.signTransaction(await wallet.prepareTransactionRequest({ to: recipient, value: 1n, nonce: n }))
    const gapped = await sign(nonce + 1)
    const refused = await wallet.sendRawTransactionSync({ serializedTransaction: gapped }).catch((e: unknown) => e)
    expect(rpcErrorWithCode(refused, 5).data).toBe(keccak256(gapped))

    // The missing nonce with a 1 ms timeout: no 1 s block seals that fast, so code 4 and the hash.
    const filler = await sign(nonce)
    const late = await wallet
      .sendRawTransactionSync({ serializedTransaction: filler, timeout: 1 })
      .catch((e: unknown) => e)
    expect(rpcErrorWithCode(late, 4).data).toBe(keccak256(filler))

    // Both were kept and are sealed in order.
    const [first, second] = await Promise.all(
      [filler, gapped].map((raw) => publicClient.waitForTransactionReceipt({ hash: keccak256(raw) })),
    )
    expect([first!.status, second!.status]).toEqual(['success', 'success'])
    expect(await publicClient.getBalance({ address: recipient })).toBe(9n)
  })
})

describe('viem fillTransaction (eth_fillTransaction)', () => {
  it('fills fees, gas and nonce in one request, which prepareTransactionRequest then uses', async () => {
    const { publicClient, account } = httpClients(7)
    const recipient = privateKeyToAccount(generatePrivateKey()).address
    const { transaction } = await publicClient.fillTransaction({ account: account.address, to: recipient, value: 3n })
    const nonce = await publicClient.getTransactionCount({ address: account.address })
    expect(transaction).toMatchObject({ type: 'eip1559', gas: 21_000n, nonce, chainId: chain.id })
    expect(transaction.maxFeePerGas).toBeGreaterThan(transaction.maxPriorityFeePerGas!)

    const methods: string[] = []
    const counting = createWalletClient({
      account,
      chain,
      transport: http(node.rpcUrl, {
        onFetchRequest: async (request) => {
          methods.push((JSON.parse(await request.clone().text()) as { method: string }).method)
        },
      }),
    })
    const hash = await counting.sendTransaction({ to: recipient, value: 3n })
    expect(methods).toEqual(['eth_fillTransaction', 'eth_sendRawTransaction'])
    expect((await publicClient.waitForTransactionReceipt({ hash })).status).toBe('success')
    expect(await publicClient.getBalance({ address: recipient })).toBe(3n)
  })
})

describe('viem simulateCalls (eth_simulateV1)', () => {
  it('simulates calls on the chain without changing it, with asset changes and a decoded revert', async () => {
    const { publicClient, account, wallet } = httpClients(6)
    const recipient = privateKeyToAccount(generatePrivateKey()).address
    const { contractAddress } = await publicClient.waitForTransactionReceipt({
      hash: await wallet.deployContract({ abi: token.abi, bytecode: token.bytecode }),
    })
    const tokenAddress = contractAddress!
    const head = await publicClient.getBlockNumber()

    const { results, assetChanges, block } = await publicClient.simulateCalls({
      account: account.address,
      calls: [
        { to: recipient, value: parseEther('1') },
        { to: tokenAddress, abi: token.abi, functionName: 'transfer', args: [recipient, 5n] },
        { to: tokenAddress, abi: token.abi, functionName: 'transfer', args: [recipient, 10n ** 40n] },
      ],
      traceAssetChanges: true,
    })
    expect(block.number).toBeGreaterThan(head)
    expect(results.map((r) => r.status)).toEqual(['success', 'success', 'failure'])
    expect(results[1]!.result).toBe(true)
    const [log] = parseEventLogs({ abi: token.abi, logs: results[1]!.logs ?? [], eventName: 'Transfer' })
    expect(log?.args).toEqual({ from: account.address, to: recipient, value: 5n })
    expect(results[2]!.error).toBeInstanceOf(BaseError)
    const changes = Object.fromEntries(assetChanges.map((c) => [c.token.address.toLowerCase(), c.value.diff]))
    expect(changes).toEqual({
      '0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee': -parseEther('1'),
      [tokenAddress.toLowerCase()]: -5n,
    })

    // nothing happened on the chain
    expect(await publicClient.getBalance({ address: recipient })).toBe(0n)
    expect(await tokenBalance(publicClient, tokenAddress, recipient)).toBe(0n)
  })
})

describe('viem multicall through the preinstalled Multicall3', () => {
  it('reads several contracts in one aggregate3 call, a failed read reported beside the others', async () => {
    const { publicClient, account, wallet } = httpClients(6)
    const { contractAddress } = await publicClient.waitForTransactionReceipt({
      hash: await wallet.deployContract({ abi: token.abi, bytecode: token.bytecode }),
    })
    const tokenAddress = contractAddress!
    const multicallClient = createPublicClient({
      chain: { ...chain, contracts: { multicall3: { address: MULTICALL3_ADDRESS } } },
      transport: http(node.rpcUrl),
    })
    const holder = account.address
    const results = await multicallClient.multicall({
      contracts: [
        { address: tokenAddress, abi: erc20Abi, functionName: 'totalSupply' },
        { address: tokenAddress, abi: erc20Abi, functionName: 'balanceOf', args: [holder] },
        // Multicall3 holds no tokens: this transfer reverts, and only its own result says so.
        { address: tokenAddress, abi: erc20Abi, functionName: 'transfer', args: [holder, 1n] },
        { address: tokenAddress, abi: erc20Abi, functionName: 'symbol' },
      ],
    })
    expect(results.map((r) => r.status)).toEqual(['success', 'success', 'failure', 'success'])
    expect(results[0]!.result).toBe(10n ** 24n)
    expect(results[1]!.result).toBe(10n ** 24n)
    expect(results[3]!.result).toBe('T')

    // The helpers Multicall3 has besides aggregate3 read the chain it runs on.
    const helpers = parseAbi([
      'function getChainId() view returns (uint256)',
      'function getEthBalance(address) view returns (uint256)',
    ])
    const [chainId, balance] = await multicallClient.multicall({
      allowFailure: false,
      contracts: [
        { address: MULTICALL3_ADDRESS, abi: helpers, functionName: 'getChainId' },
        { address: MULTICALL3_ADDRESS, abi: helpers, functionName: 'getEthBalance', args: [holder] },
      ],
    })
    expect(chainId).toBe(77077n)
    expect(balance).toBe(await publicClient.getBalance({ address: holder }))
  })
})

describe("EIP-2935's block-hash history contract", () => {
  it('answers the hash of a past block to an eth_call, and refuses a block that is not past', async () => {
    const { publicClient } = httpClients(6)
    // Block 1 stored genesis's hash; a later block stored its parent's.
    while ((await publicClient.getBlockNumber({ cacheTime: 0 })) < 2n) await new Promise((r) => setTimeout(r, 100))
    const latest = await publicClient.getBlock()
    for (const number of [0n, latest.number - 1n]) {
      const { data } = await publicClient.call({ to: HISTORY_STORAGE_ADDRESS, data: toHex(number, { size: 32 }) })
      expect(data).toBe((await publicClient.getBlock({ blockNumber: number })).hash)
    }
    // The contract reverts for a block that is not yet in the past.
    await expect(
      publicClient.call({ to: HISTORY_STORAGE_ADDRESS, data: toHex(latest.number + 1000n, { size: 32 }) }),
    ).rejects.toThrow(/revert/i)
  })
})

/** An ERC-1271 account owned by one key, and a CREATE2 factory for it (what ERC-6492 signatures name). */
const SMART_ACCOUNT_SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract OwnedAccount {
  address public owner;
  constructor(address o) { owner = o; }
  function isValidSignature(bytes32 h, bytes calldata sig) external view returns (bytes4) {
    (bytes32 r, bytes32 s) = abi.decode(sig[:64], (bytes32, bytes32));
    return ecrecover(h, uint8(sig[64]), r, s) == owner ? bytes4(0x1626ba7e) : bytes4(0xffffffff);
  }
}
contract AccountFactory {
  function create(address o, bytes32 salt) external returns (address) { return address(new OwnedAccount{salt: salt}(o)); }
  function predict(address o, bytes32 salt) external view returns (address) {
    bytes32 code = keccak256(abi.encodePacked(type(OwnedAccount).creationCode, abi.encode(o)));
    return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, code)))));
  }
}
`

describe('viem deployless calls, signature verification and state overrides', () => {
  it('reads through init code and a factory, verifies ERC-6492 and ERC-1271 signatures, simulates with overrides', async () => {
    const { publicClient, account, wallet } = httpClients(8)
    const { AccountFactory: factory, OwnedAccount: smartAccount } = compileSolidity({
      'Account.sol': SMART_ACCOUNT_SOURCE,
    })
    const factoryHash = await wallet.deployContract({ abi: factory!.abi, bytecode: factory!.bytecode })
    const tokenHash = await wallet.deployContract({ abi: token.abi, bytecode: token.bytecode })
    const [factoryAddress, tokenAddress] = (
      await Promise.all([factoryHash, tokenHash].map((hash) => publicClient.waitForTransactionReceipt({ hash })))
    ).map((r) => r.contractAddress!)

    // readContract with `code`: an eth_call without `to` whose init code deploys the token and reads it.
    const deployless = { code: token.bytecode, abi: token.abi } as const
    expect(await publicClient.readContract({ ...deployless, functionName: 'totalSupply' })).toBe(10n ** 24n)
    expect(await publicClient.readContract({ ...deployless, functionName: 'symbol' })).toBe('T')

    // A counterfactual account: call it through its factory, and check an ERC-6492 signature of it.
    const owner = privateKeyToAccount(generatePrivateKey())
    const salt = toHex(1n, { size: 32 })
    const predicted = (await publicClient.readContract({
      address: factoryAddress!,
      abi: factory!.abi,
      functionName: 'predict',
      args: [owner.address, salt],
    })) as Hex
    const factoryData = encodeFunctionData({ abi: factory!.abi, functionName: 'create', args: [owner.address, salt] })
    const { data: ownerWord } = await publicClient.call({
      to: predicted,
      data: encodeFunctionData({ abi: smartAccount!.abi, functionName: 'owner' }),
      factory: factoryAddress!,
      factoryData,
    })
    expect(ownerWord).toBe(encodeAbiParameters([{ type: 'address' }], [owner.address]))
    const signature = serializeErc6492Signature({
      address: factoryAddress!,
      data: factoryData,
      signature: await owner.sign({ hash: hashMessage('hello') }),
    })
    expect(await publicClient.verifyMessage({ address: predicted, message: 'hello', signature })).toBe(true)
    expect(await publicClient.verifyMessage({ address: predicted, message: 'other', signature })).toBe(false)
    expect(await publicClient.getCode({ address: predicted })).toBeUndefined()
    // an EOA's signature goes through the same deployless validator
    const eoaSignature = await account.signMessage({ message: 'hello' })
    expect(
      await publicClient.verifyMessage({ address: account.address, message: 'hello', signature: eoaSignature }),
    ).toBe(true)

    // Deployed, the account answers ERC-1271 itself.
    await publicClient.waitForTransactionReceipt({
      hash: await wallet.writeContract({
        address: factoryAddress!,
        abi: factory!.abi,
        functionName: 'create',
        args: [owner.address, salt],
      }),
    })
    const hash = keccak256('0x1234')
    const ownerSignature = await owner.sign({ hash })
    expect(await publicClient.verifyHash({ address: predicted, hash, signature: ownerSignature })).toBe(true)
    expect(
      await publicClient.verifyHash({ address: predicted, hash: keccak256('0x99'), signature: ownerSignature }),
    ).toBe(false)

    // simulateContract from an account with no ETH and no tokens, given both by state overrides.
    const poor = privateKeyToAccount(generatePrivateKey())
    const slot = keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [poor.address, 0n]))
    const { result } = await publicClient.simulateContract({
      account: poor,
      address: tokenAddress!,
      abi: token.abi,
      functionName: 'transfer',
      args: [account.address, 5n],
      stateOverride: [
        { address: tokenAddress!, stateDiff: [{ slot, value: toHex(100n, { size: 32 }) }] },
        { address: poor.address, balance: parseEther('1') },
      ],
    })
    expect(result).toBe(true)
    expect(await tokenBalance(publicClient, tokenAddress!, poor.address)).toBe(0n)
  })
})

describe('viem over HTTP polling (filters)', () => {
  it('watchContractEvent, watchPendingTransactions and watchBlocks/watchBlockNumber with emitMissed', async () => {
    const { publicClient, wallet } = httpClients(0)
    const { contractAddress } = await publicClient.waitForTransactionReceipt({
      hash: await wallet.deployContract({ abi: token.abi, bytecode: token.bytecode }),
    })
    const tokenAddress = contractAddress!
    const methods = new Set<string>()
    const polling = createPublicClient({
      chain,
      pollingInterval: 200,
      transport: http(node.rpcUrl, {
        onFetchRequest: async (request) => {
          methods.add((JSON.parse(await request.clone().text()) as { method: string }).method)
        },
      }),
    })
    const recipient = DEV_ACCOUNTS[7]!.address
    const events: unknown[] = []
    const pending: Hex[] = []
    const errors: unknown[] = []
    const unwatchEvents = polling.watchContractEvent({
      address: tokenAddress,
      abi: token.abi,
      eventName: 'Transfer',
      args: { to: recipient },
      onLogs: (logs) => events.push(...logs.map((log) => (log as unknown as { args: unknown }).args)),
      onError: (e) => errors.push(e),
    })
    const unwatchPending = polling.watchPendingTransactions({
      onTransactions: (hashes) => pending.push(...hashes),
      onError: (e) => errors.push(e),
    })
    // Polled every 2.5 s while a block comes every second: emitMissed fetches the blocks in between.
    const slow = createPublicClient({ chain, transport: http(node.rpcUrl), pollingInterval: 2_500 })
    const blocks: bigint[] = []
    const numbers: bigint[] = []
    const unwatchBlocks = slow.watchBlocks({
      emitMissed: true,
      emitOnBegin: true,
      onBlock: (block) => blocks.push(block.number),
      onError: (e) => errors.push(e),
    })
    const unwatchNumbers = slow.watchBlockNumber({
      emitMissed: true,
      emitOnBegin: true,
      onBlockNumber: (n) => numbers.push(n),
      onError: (e) => errors.push(e),
    })
    try {
      await new Promise((r) => setTimeout(r, 500))
      const hashes: Hex[] = []
      for (const [to, value] of [
        [recipient, 11n],
        [DEV_ACCOUNTS[9]!.address, 22n],
      ] as const) {
        hashes.push(
          await wallet.writeContract({
            address: tokenAddress,
            abi: token.abi,
            functionName: 'transfer',
            args: [to, value],
          }),
        )
      }
      await Promise.all(hashes.map((hash) => publicClient.waitForTransactionReceipt({ hash })))
      const deadline = Date.now() + 30_000
      while ((events.length === 0 || blocks.length < 4 || numbers.length < 4) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100))
      expect(errors).toEqual([])
      expect(events).toEqual([{ from: wallet.account.address, to: recipient, value: 11n }])
      for (const hash of hashes) expect(pending).toContain(hash)
      for (const seen of [blocks, numbers]) {
        expect(seen.length).toBeGreaterThanOrEqual(4)
        for (let i = 1; i < seen.length; i++) expect(seen[i]).toBe(seen[i - 1]! + 1n)
      }
      expect([...methods]).toEqual(
        expect.arrayContaining(['eth_newFilter', 'eth_newPendingTransactionFilter', 'eth_getFilterChanges']),
      )
    } finally {
      unwatchEvents()
      unwatchPending()
      unwatchBlocks()
      unwatchNumbers()
    }
  })
})

describe('viem replacement transactions', () => {
  it('waitForTransactionReceipt follows a transaction repriced by 10% or more; a smaller bump is refused', async () => {
    const { publicClient, account, wallet } = httpClients(0)
    const recipient = privateKeyToAccount(generatePrivateKey()).address
    const nonce = await publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' })
    // Nonce + 1 waits in the pool behind a gap, so no block takes it before it is replaced.
    const sign = (n: number, maxFeePerGas: bigint, maxPriorityFeePerGas: bigint) =>
      wallet.signTransaction({ to: recipient, value: 1n, gas: 21_000n, nonce: n, maxFeePerGas, maxPriorityFeePerGas })
    const original = await wallet.sendRawTransaction({
      serializedTransaction: await sign(nonce + 1, parseGwei('10'), parseGwei('1')),
    })
    let replaced: { reason: string; transaction: { hash: Hex } } | undefined
    const waiting = publicClient.waitForTransactionReceipt({
      hash: original,
      onReplaced: (r) => {
        replaced = r
      },
    })
    // viem reads the original transaction (a queued one) before it goes
    expect((await publicClient.getTransaction({ hash: original })).nonce).toBe(nonce + 1)
    await new Promise((r) => setTimeout(r, 400))

    const underpriced = await wallet
      .sendRawTransaction({ serializedTransaction: await sign(nonce + 1, parseGwei('10.9'), parseGwei('1.09')) })
      .catch((e: unknown) => e)
    expect(String((underpriced as BaseError).details)).toBe('replacement transaction underpriced')
    const replacement = await wallet.sendRawTransaction({
      serializedTransaction: await sign(nonce + 1, parseGwei('11'), parseGwei('1.1')),
    })
    await wallet.sendRawTransaction({ serializedTransaction: await sign(nonce, parseGwei('10'), parseGwei('1')) })

    const receipt = await within(waiting, 30_000, 'waitForTransactionReceipt did not settle')
    expect(receipt.transactionHash).toBe(replacement)
    expect(receipt.status).toBe('success')
    expect(replaced?.reason).toBe('repriced')
    expect(replaced?.transaction.hash).toBe(replacement)
    expect(await publicClient.getTransaction({ hash: original }).catch((e: unknown) => (e as Error).name)).toBe(
      'TransactionNotFoundError',
    )
  })

  it("prepares legacy and EIP-1559 requests from the node's fees and sends a legacy one", async () => {
    const { publicClient, wallet } = httpClients(0)
    const recipient = privateKeyToAccount(generatePrivateKey()).address
    const tip = await publicClient.estimateMaxPriorityFeePerGas()
    expect(tip).toBe(BigInt(await publicClient.request({ method: 'eth_maxPriorityFeePerGas' })))
    const eip1559 = await wallet.prepareTransactionRequest({ to: recipient, value: 1n })
    expect(eip1559).toMatchObject({ type: 'eip1559', gas: 21_000n, maxPriorityFeePerGas: tip })
    const { baseFeePerGas } = await publicClient.getBlock()
    expect(eip1559.maxFeePerGas).toBeGreaterThanOrEqual(baseFeePerGas! + tip)
    const legacy = await wallet.prepareTransactionRequest({ to: recipient, value: 1n, type: 'legacy' })
    expect(legacy).toMatchObject({ type: 'legacy', gas: 21_000n })
    // viem's legacy price is eth_gasPrice (the base fee plus the suggested tip) × 1.2
    expect(legacy.gasPrice).toBeGreaterThan(baseFeePerGas! + tip)
    const receipt = await publicClient.waitForTransactionReceipt({
      hash: await wallet.sendTransaction({ to: recipient, value: 1n, type: 'legacy', gasPrice: legacy.gasPrice }),
    })
    expect(receipt).toMatchObject({ type: 'legacy', status: 'success', effectiveGasPrice: legacy.gasPrice })
  })
})
