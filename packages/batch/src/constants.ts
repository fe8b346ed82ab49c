/** Bytes in one EIP-4844 blob: 4096 field elements of 32 bytes. */
export const BLOB_SIZE = 131_072
export const FIELD_ELEMENTS_PER_BLOB = 4096

/**
 * Payload bytes one blob carries. Every field element keeps its top two bits zero (so it is below the
 * BLS modulus) and carries 254 bits: 4 elements hold 127 bytes, 1024 such groups fill a blob. That is
 * 2.4% more than the simpler 31 bytes per element (126,976), for a few more lines of packing code.
 */
export const BLOB_PAYLOAD_CAPACITY = 130_048

/** Blobs one L1 transaction may carry (EIP-7594 caps a transaction at 6 blobs). */
export const MAX_BLOBS_PER_BATCH = 6

/** Big-endian uint32 at the start of the framed payload: the number of bytes that follow it. */
export const LENGTH_PREFIX_BYTES = 4

/** Largest framed payload (length prefix included) a batch may have: 6 × 130,048 = 780,288 bytes. */
export const MAX_PAYLOAD_BYTES = MAX_BLOBS_PER_BATCH * BLOB_PAYLOAD_CAPACITY

/**
 * Cap on the inflated manifest (8 MiB, ~10.8× the largest payload). Decoders stop inflating there, so a
 * decompression bomb costs at most this much memory; encoders refuse larger manifests, so an honest
 * batch is never cut off. One 60M-gas block of zero-byte calldata (~6 MB at 10 gas/byte) still fits.
 */
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024

/** Same bound as the Inbox's `maxBlocksPerBatch` (uint16). */
export const MAX_BLOCKS_PER_BATCH = 65_535

/** The manifest layout version, first item of the manifest RLP list. */
export const MANIFEST_VERSION = 1

/**
 * Cap on transactions per batch, so crafted input cannot make a decoder allocate millions of views.
 * Every signed transaction carries 64 bytes of signature that do not compress, so a full batch of
 * real transactions holds at most ~12,000 (780,288 / 64); 65,536 leaves ample room.
 */
export const MAX_TRANSACTIONS_PER_BATCH = 65_536
