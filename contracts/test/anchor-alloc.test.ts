import { type AnvilInstance, startAnvil } from '@cairn/anvil'
import { createPublicClient, createWalletClient, type Hex, http, keccak256, parseEther, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ANCHOR_ADDRESS, anchorAbi, anchorGenesisAlloc, SYSTEM_SENDER } from '../src-ts/index.ts'

// The genesis alloc is checked by installing it in a running chain and making the system call.
describe('anchorGenesisAlloc', () => {
  let anvil: AnvilInstance
  beforeAll(async () => {
    anvil = await startAnvil()
  })
  afterAll(async () => {
    await anvil?.stop()
  })

  it('gives the Anchor runtime code at the fixed address in geth alloc form', () => {
    const alloc = anchorGenesisAlloc()
    expect(Object.keys(alloc)).toEqual([ANCHOR_ADDRESS])
    const account = alloc[ANCHOR_ADDRESS]!
    expect(account.code.startsWith('0x60')).toBe(true)
    expect(account.storage).toEqual({})
    expect(account.balance).toBe('0x0')
  })

  it('runs: the system sender anchors an L1 origin and anyone else is refused', async () => {
    const transport = http(anvil.rpcUrl)
    const client = createPublicClient({ transport })
    const code = anchorGenesisAlloc()[ANCHOR_ADDRESS]!.code
    await client.request({ method: 'anvil_setCode' as 'eth_chainId', params: [ANCHOR_ADDRESS, code] as never })
    await client.request({ method: 'anvil_impersonateAccount' as 'eth_chainId', params: [SYSTEM_SENDER] as never })
    await client.request({
      method: 'anvil_setBalance' as 'eth_chainId',
      params: [SYSTEM_SENDER, toHex(parseEther('1'))] as never,
    })
    const system = createWalletClient({ account: SYSTEM_SENDER, transport })
    const head = await client.getBlock()
    const l1Hash: Hex = keccak256(toHex('l1 block 7'))
    const l1Root: Hex = keccak256(toHex('l1 state 7'))
    const hash = await system.writeContract({
      address: ANCHOR_ADDRESS,
      abi: anchorAbi,
      functionName: 'anchor',
      args: [7n, l1Hash, l1Root, head.hash],
      chain: null,
    })
    const receipt = await client.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')
    expect(
      await client.readContract({ address: ANCHOR_ADDRESS, abi: anchorAbi, functionName: 'l1StateRoots', args: [7n] }),
    ).toBe(l1Root)

    await expect(
      client.simulateContract({
        address: ANCHOR_ADDRESS,
        abi: anchorAbi,
        functionName: 'anchor',
        args: [8n, l1Hash, l1Root, receipt.blockHash],
        account: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      }),
    ).rejects.toThrow(/NotSystemSender/)
  })
})
