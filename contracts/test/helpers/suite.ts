// A development deployment of the L1 suite for TypeScript tests and the gas report: proxies owned by
// the deployer (no timelock; the deploy package's deployL1 does the production wiring), one preconfer
// and one registered TEE instance.
import {
  type Abi,
  type Address,
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeFunctionData,
  type Hex,
  http,
  keccak256,
  toHex,
} from 'viem'
import { privateKeyToAccount, sign } from 'viem/accounts'
import {
  authorityAttestationVerifierAbi,
  authorityAttestationVerifierBytecode,
  attestationDigest,
  cairnProxyAbi,
  cairnProxyBytecode,
  composeVerifierAbi,
  composeVerifierBytecode,
  forcedInclusionStoreAbi,
  forcedInclusionStoreBytecode,
  inboxAbi,
  inboxBytecode,
  preconfWhitelistAbi,
  preconfWhitelistBytecode,
  teeVerifierAbi,
  teeVerifierBytecode,
} from '../../src-ts/index.ts'

export const TEST_L2_CHAIN_ID = 77077n
export const GENESIS_BLOCK_HASH: Hex = keccak256(toHex('cairn test genesis block'))
export const GENESIS_STATE_ROOT: Hex = keccak256(toHex('cairn test genesis state'))

// anvil's default accounts 0, 1 and a fixed enclave key.
export const DEPLOYER_KEY: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
export const PROPOSER_KEY: Hex = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
export const TEE_INSTANCE_KEY: Hex = `0x${'1d'.repeat(32)}`

export type InboxConfigOverrides = Partial<{ maxBatchesToVerify: number; ringBufferSize: bigint }>

export async function deployTestSuite(rpcUrl: string, overrides: InboxConfigOverrides = {}) {
  const transport = http(rpcUrl)
  const publicClient = createPublicClient({ transport })
  const chain = defineChain({
    id: await publicClient.getChainId(),
    name: 'anvil',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
  const deployer = privateKeyToAccount(DEPLOYER_KEY)
  const proposer = privateKeyToAccount(PROPOSER_KEY)
  const instance = privateKeyToAccount(TEE_INSTANCE_KEY)
  const wallet = createWalletClient({ account: deployer, chain, transport })
  const proposerWallet = createWalletClient({ account: proposer, chain, transport })

  const wait = async (hash: Hex) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`)
    return receipt
  }
  const deployProxy = async (abi: Abi, bytecode: Hex, initData: Hex): Promise<Address> => {
    const impl = (await wait(await wallet.deployContract({ abi, bytecode }))).contractAddress!
    const proxy = await wallet.deployContract({
      abi: cairnProxyAbi,
      bytecode: cairnProxyBytecode,
      args: [impl, initData],
    })
    return (await wait(proxy)).contractAddress!
  }

  const whitelist = await deployProxy(
    preconfWhitelistAbi,
    preconfWhitelistBytecode,
    encodeFunctionData({
      abi: preconfWhitelistAbi,
      functionName: 'initialize',
      args: [deployer.address, 32n, [proposer.address]],
    }),
  )
  const store = await deployProxy(
    forcedInclusionStoreAbi,
    forcedInclusionStoreBytecode,
    encodeFunctionData({
      abi: forcedInclusionStoreAbi,
      functionName: 'initialize',
      args: [deployer.address, 10n ** 15n, 16n, 32n, 65536],
    }),
  )
  const attestation = await deployProxy(
    authorityAttestationVerifierAbi,
    authorityAttestationVerifierBytecode,
    encodeFunctionData({
      abi: authorityAttestationVerifierAbi,
      functionName: 'initialize',
      args: [deployer.address, deployer.address],
    }),
  )
  const tee = await deployProxy(
    teeVerifierAbi,
    teeVerifierBytecode,
    encodeFunctionData({
      abi: teeVerifierAbi,
      functionName: 'initialize',
      args: [deployer.address, attestation, 30n * 86400n],
    }),
  )
  const compose = await deployProxy(
    composeVerifierAbi,
    composeVerifierBytecode,
    encodeFunctionData({ abi: composeVerifierAbi, functionName: 'initialize', args: [deployer.address] }),
  )
  const inbox = await deployProxy(
    inboxAbi,
    inboxBytecode,
    encodeFunctionData({
      abi: inboxAbi,
      functionName: 'initialize',
      args: [
        deployer.address,
        {
          l2ChainId: TEST_L2_CHAIN_ID,
          ringBufferSize: overrides.ringBufferSize ?? 64n,
          maxBlocksPerBatch: 64,
          maxBlobsPerBatch: 6,
          anchorWindow: 64,
          fallbackWindow: 32n,
          basedMode: false,
          maxBatchesToVerify: overrides.maxBatchesToVerify ?? 16,
        },
        whitelist,
        store,
        compose,
        GENESIS_BLOCK_HASH,
        GENESIS_STATE_ROOT,
      ],
    }),
  )
  await wait(
    await wallet.writeContract({
      address: store,
      abi: forcedInclusionStoreAbi,
      functionName: 'setInbox',
      args: [inbox],
    }),
  )
  await wait(
    await wallet.writeContract({
      address: compose,
      abi: composeVerifierAbi,
      functionName: 'setVerifier',
      args: [0, tee],
    }),
  )
  await wait(
    await wallet.writeContract({
      address: compose,
      abi: composeVerifierAbi,
      functionName: 'setSufficient',
      args: [1, true],
    }),
  )

  const latest = await publicClient.getBlock()
  const expiry = latest.timestamp + 86400n
  const quote = await sign({
    hash: attestationDigest(instance.address, BigInt(chain.id), expiry),
    privateKey: DEPLOYER_KEY,
    to: 'hex',
  })
  await wait(
    await wallet.writeContract({
      address: tee,
      abi: teeVerifierAbi,
      functionName: 'registerInstance',
      args: [instance.address, expiry, quote],
    }),
  )

  return {
    chain,
    publicClient,
    wallet,
    proposerWallet,
    proposer,
    instance,
    wait,
    addresses: { whitelist, store, attestation, tee, compose, inbox },
  }
}
