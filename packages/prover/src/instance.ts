import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '@cairn/config'
import { attestationDigest } from '@cairn/contracts'
import { CairnError } from '@cairn/primitives'
import { type Address, getAddress, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'

const INSTANCE_KEY = 'instance.key'

/**
 * The enclave instance key in `<datadir>/instance.key` (0600), made on first use. In a real TEE the
 * key is generated inside the enclave and never leaves it; here the "enclave" is this process.
 */
export function loadOrCreateInstanceKey(datadir: string): { key: Hex; address: Address; created: boolean } {
  mkdirSync(datadir, { recursive: true })
  const path = join(datadir, INSTANCE_KEY)
  let created = false
  let key: string
  try {
    key = readFileSync(path, 'utf8').trim()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    key = generatePrivateKey()
    // 'wx': never overwrite a key another process wrote a moment ago.
    const fd = openSync(path, 'wx', 0o600)
    try {
      writeSync(fd, `${key}\n`)
    } finally {
      closeSync(fd)
    }
    chmodSync(path, 0o600)
    created = true
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new CairnError(
      'INSTANCE_KEY_INVALID',
      `${path} does not hold a 0x-prefixed 32-byte hex key; move it away to make a new instance (it must then be registered again).`,
    )
  }
  return { key: key as Hex, address: privateKeyToAccount(key as Hex).address, created }
}

/** An attestation "quote" for one instance and expiry, as `TeeVerifier.registerInstance` takes it. */
export interface Attestation {
  instance: Address
  expiry: bigint
  quote: Hex
}

/**
 * Where quotes come from. `expiry` is the latest expiry the L1 accepts now; a source that signs
 * (the stub authority) uses it, a fixed quote (a file) has its own.
 */
export interface QuoteSource {
  readonly kind: string
  quote(request: { instance: Address; l1ChainId: bigint; expiry: bigint }): Promise<Attestation>
}

/**
 * The stub: the configured attestation authority signs `attestationDigest(instance, l1ChainId,
 * expiry)` (raw hash, no prefix), which `AuthorityAttestationVerifier` accepts in place of an Intel
 * DCAP quote. Whoever holds this key can admit any instance key.
 */
export class AuthorityQuoteSource implements QuoteSource {
  readonly kind = 'authority-key'
  constructor(private readonly authorityKey: Hex) {}

  get authority(): Address {
    return privateKeyToAccount(this.authorityKey).address
  }

  async quote(request: { instance: Address; l1ChainId: bigint; expiry: bigint }): Promise<Attestation> {
    const hash = attestationDigest(request.instance, request.l1ChainId, request.expiry)
    const quote = await privateKeyToAccount(this.authorityKey).sign({ hash })
    return { instance: request.instance, expiry: request.expiry, quote }
  }
}

/** A pre-signed quote from a JSON file `{"instance": "0x…", "expiry": 1767225600, "quote": "0x…"}`. */
export class FileQuoteSource implements QuoteSource {
  readonly kind = 'quote-file'
  private readonly attestation: Attestation

  constructor(private readonly path: string) {
    let value: { instance?: unknown; expiry?: unknown; quote?: unknown }
    try {
      value = JSON.parse(readFileSync(path, 'utf8'))
    } catch (error) {
      throw new ConfigError(`cannot read --quote-file ${path}: ${(error as Error).message}`)
    }
    if (
      typeof value.instance !== 'string' ||
      !/^0x[0-9a-fA-F]{40}$/.test(value.instance) ||
      (typeof value.expiry !== 'number' && typeof value.expiry !== 'string') ||
      typeof value.quote !== 'string' ||
      !/^0x([0-9a-fA-F]{2})+$/.test(value.quote)
    ) {
      throw new ConfigError(
        `--quote-file ${path} must hold {"instance": address, "expiry": unix seconds, "quote": hex bytes}`,
      )
    }
    this.attestation = {
      instance: getAddress(value.instance),
      expiry: BigInt(value.expiry),
      quote: value.quote as Hex,
    }
  }

  async quote(request: { instance: Address }): Promise<Attestation> {
    if (request.instance !== this.attestation.instance) {
      throw new CairnError(
        'QUOTE_WRONG_INSTANCE',
        `--quote-file ${this.path} attests ${this.attestation.instance}, but this prover's instance is ${request.instance} (see \`cairn-prover-tee instance\`).`,
      )
    }
    return this.attestation
  }
}
