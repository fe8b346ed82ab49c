import { createRequire } from 'node:module'
import {
  type Abi,
  type Address,
  type Hex,
  createPublicClient,
  createWalletClient,
  defineChain,
  encodePacked,
  getContractAddress,
  http,
  keccak256,
  parseEther,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_ACCOUNTS } from '@cairn/primitives'
import { tokenContract } from './src/contracts.ts'
import { type RunningNode, startNode } from './src/node-process.ts'

const require = createRequire(import.meta.url)

interface Artifact {
  abi: Abi
  bytecode: Hex
}

/** Reads a published build artifact; the creation code is in `.bytecode` or `.evm.bytecode.object`. */
function artifact(path: string): Artifact {
  const json = require(path) as { abi: Abi; bytecode?: string; evm?: { bytecode?: { object?: string } } }
  const code = json.bytecode ?? json.evm?.bytecode?.object
  if (code === undefined || code.length === 0) throw new Error(`${path} has no bytecode`)
  return { abi: json.abi, bytecode: (code.startsWith('0x') ? code : `0x${code}`) as Hex }
}

const WETH9 = artifact('canonical-weth/build/contracts/WETH9.json')
const FACTORY = artifact('@uniswap/v2-core/build/UniswapV2Factory.json')
const PAIR = artifact('@uniswap/v2-core/build/UniswapV2Pair.json')
const ROUTER = artifact('@uniswap/v2-periphery/build/UniswapV2Router02.json')
/** The init code hash UniswapV2Library.pairFor has hard-coded (mainnet's pair creation code). */
const MAINNET_PAIR_INIT_CODE_HASH = '0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f'

let node: RunningNode
const account = privateKeyToAccount(DEV_ACCOUNTS[6]!.privateKey)
const deadline = 2n ** 64n

function clients() {
  const chain = defineChain({
    id: 77077,
    name: 'Cairn dev',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [node.rpcUrl] } },
  })
  const transport = http(node.rpcUrl)
  return {
    publicClient: createPublicClient({ chain, transport, pollingInterval: 100 }),
    wallet: createWalletClient({ account, chain, transport, pollingInterval: 100 }),
  }
}

beforeAll(async () => {
  node = await startNode({ blockTime: 0 })
})

afterAll(async () => {
  await node?.cleanup()
})

describe('third-party contracts from their published build artifacts', () => {
  async function deploy(a: Artifact, args: unknown[] = []): Promise<Address> {
    const { publicClient, wallet } = clients()
    const hash = await wallet.deployContract({ abi: a.abi, bytecode: a.bytecode, args })
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')
    return receipt.contractAddress!
  }

  async function write(address: Address, abi: Abi, functionName: string, args: unknown[] = [], value?: bigint) {
    const { publicClient, wallet } = clients()
    const { request, result } = await publicClient.simulateContract({
      account,
      address,
      abi,
      functionName,
      args,
      value,
    } as never)
    // Estimated for the block the transaction lands in, as geth would need too: a call on `latest` runs at
    // that block's timestamp, where a pair updated in it skips its price accumulators (no time elapsed),
    // so the estimate falls short of the swap that follows in the next block.
    const gas = await publicClient.estimateContractGas({ ...(request as object), blockTag: 'pending' } as never)
    const hash = await wallet.writeContract({ ...(request as object), gas } as never)
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')
    return { receipt, result: result as unknown }
  }

  const read = <T>(address: Address, abi: Abi, functionName: string, args: unknown[] = []) =>
    clients().publicClient.readContract({ address, abi, functionName, args }) as Promise<T>

  let weth: Address

  it('WETH9 wraps and unwraps ETH', async () => {
    const { publicClient } = clients()
    weth = await deploy(WETH9)
    expect(await read(weth, WETH9.abi, 'symbol')).toBe('WETH')
    const { receipt: depositReceipt } = await write(weth, WETH9.abi, 'deposit', [], parseEther('5'))
    expect(await read(weth, WETH9.abi, 'balanceOf', [account.address])).toBe(parseEther('5'))
    expect(await publicClient.getBalance({ address: weth })).toBe(parseEther('5'))
    expect(depositReceipt.logs).toHaveLength(1)

    const before = await publicClient.getBalance({ address: account.address })
    const { receipt } = await write(weth, WETH9.abi, 'withdraw', [parseEther('2')])
    const after = await publicClient.getBalance({ address: account.address })
    expect(after - before).toBe(parseEther('2') - receipt.gasUsed * receipt.effectiveGasPrice)
    expect(await read(weth, WETH9.abi, 'balanceOf', [account.address])).toBe(parseEther('3'))
    expect(await read(weth, WETH9.abi, 'totalSupply')).toBe(parseEther('3'))
  })

  it('Uniswap V2 creates a pair, adds liquidity and swaps through Router02', async () => {
    expect(weth).toBeDefined()
    // The pair bytecode the factory deploys is the published one, so the router's hard-coded hash holds.
    expect(keccak256(PAIR.bytecode)).toBe(MAINNET_PAIR_INIT_CODE_HASH)

    const token = tokenContract()
    const factory = await deploy(FACTORY, [account.address])
    const router = await deploy(ROUTER, [factory, weth])
    expect(((await read<string>(router, ROUTER.abi, 'factory')) as string).toLowerCase()).toBe(factory.toLowerCase())
    expect(((await read<string>(router, ROUTER.abi, 'WETH')) as string).toLowerCase()).toBe(weth.toLowerCase())
    const tokenA = await deploy(token)
    const tokenB = await deploy(token)

    await write(factory, FACTORY.abi, 'createPair', [tokenA, tokenB])
    const pair = await read<Address>(factory, FACTORY.abi, 'getPair', [tokenA, tokenB])
    expect(await read(factory, FACTORY.abi, 'allPairsLength')).toBe(1n)
    const [token0, token1] = BigInt(tokenA) < BigInt(tokenB) ? [tokenA, tokenB] : [tokenB, tokenA]
    const expectedPair = getContractAddress({
      opcode: 'CREATE2',
      from: factory,
      salt: keccak256(encodePacked(['address', 'address'], [token0, token1])),
      bytecodeHash: MAINNET_PAIR_INIT_CODE_HASH,
    })
    expect(pair.toLowerCase()).toBe(expectedPair.toLowerCase())
    expect(((await read<string>(pair, PAIR.abi, 'token0')) as string).toLowerCase()).toBe(token0.toLowerCase())

    const amountA = parseEther('1000')
    const amountB = parseEther('4000')
    await write(tokenA, token.abi, 'approve', [router, 2n ** 256n - 1n])
    await write(tokenB, token.abi, 'approve', [router, 2n ** 256n - 1n])
    const { result: added } = await write(router, ROUTER.abi, 'addLiquidity', [
      tokenA,
      tokenB,
      amountA,
      amountB,
      0n,
      0n,
      account.address,
      deadline,
    ])
    const [usedA, usedB, liquidity] = added as [bigint, bigint, bigint]
    expect([usedA, usedB]).toEqual([amountA, amountB])
    // sqrt(1000e18 * 4000e18) = 2000e18, minus the locked MINIMUM_LIQUIDITY of 1000
    expect(liquidity).toBe(parseEther('2000') - 1000n)
    expect(await read(pair, PAIR.abi, 'balanceOf', [account.address])).toBe(liquidity)

    const reservesOf = async () => {
      const [r0, r1] = await read<[bigint, bigint, number]>(pair, PAIR.abi, 'getReserves')
      return token0 === tokenA ? { a: r0, b: r1 } : { a: r1, b: r0 }
    }
    expect(await reservesOf()).toEqual({ a: amountA, b: amountB })

    // getAmountsOut goes through UniswapV2Library.pairFor, i.e. the hard-coded init code hash.
    const amountIn = parseEther('10')
    const amounts = await read<bigint[]>(router, ROUTER.abi, 'getAmountsOut', [amountIn, [tokenA, tokenB]])
    const expectedOut = (amountIn * 997n * amountB) / (amountA * 1000n + amountIn * 997n)
    expect(amounts).toEqual([amountIn, expectedOut])

    const balanceBBefore = await read<bigint>(tokenB, token.abi, 'balanceOf', [account.address])
    await write(router, ROUTER.abi, 'swapExactTokensForTokens', [
      amountIn,
      expectedOut,
      [tokenA, tokenB],
      account.address,
      deadline,
    ])
    expect((await read<bigint>(tokenB, token.abi, 'balanceOf', [account.address])) - balanceBBefore).toBe(expectedOut)
    expect(await reservesOf()).toEqual({ a: amountA + amountIn, b: amountB - expectedOut })

    // ETH pairs go through WETH9: addLiquidityETH creates the pair, swapExactETHForTokens wraps.
    await write(
      router,
      ROUTER.abi,
      'addLiquidityETH',
      [tokenA, parseEther('100'), 0n, 0n, account.address, deadline],
      parseEther('1'),
    )
    const wethPair = await read<Address>(factory, FACTORY.abi, 'getPair', [tokenA, weth])
    expect(await read(weth, WETH9.abi, 'balanceOf', [wethPair])).toBe(parseEther('1'))
    const before = await read<bigint>(tokenA, token.abi, 'balanceOf', [account.address])
    const [, out] = await read<bigint[]>(router, ROUTER.abi, 'getAmountsOut', [parseEther('0.1'), [weth, tokenA]])
    await write(
      router,
      ROUTER.abi,
      'swapExactETHForTokens',
      [out!, [weth, tokenA], account.address, deadline],
      parseEther('0.1'),
    )
    expect((await read<bigint>(tokenA, token.abi, 'balanceOf', [account.address])) - before).toBe(out)
    expect(await read(weth, WETH9.abi, 'balanceOf', [wethPair])).toBe(parseEther('1.1'))
  })
})
