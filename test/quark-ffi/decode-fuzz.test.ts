/**
 * The decoder against FORMAT.md: round trips of random valid batches, forward compatibility,
 * and tens of thousands of truncated and corrupted batches that must either decode into
 * well-formed records or raise BatchFormatError — never anything else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchFormatError, decodeBatch } from '../../quark-ffi/ts/decode.js';
import { encodeBatch } from '../../quark-ffi/ts/encode.js';
import { FORMAT_MAGIC } from '../../quark-ffi/ts/record.js';
import { Gen, assertWellFormed, randomRecord, withoutRaw } from './records-for-tests.js';

const BOOT = 1_700_000_000_123_456_789n;

function batchOf(seed: number, n: number): { bytes: Uint8Array; records: ReturnType<typeof randomRecord>[] } {
  const g = new Gen(seed);
  const records = Array.from({ length: n }, () => randomRecord(g, BOOT));
  return { bytes: encodeBatch(records, BOOT), records };
}

/** Decodes; returns 'rejected' for a BatchFormatError, rethrows anything else. */
function decodeOrReject(bytes: Uint8Array): 'rejected' | 'decoded' {
  try {
    const batch = decodeBatch(bytes);
    for (const r of batch.records) assertWellFormed(r);
    return 'decoded';
  } catch (err) {
    if (err instanceof BatchFormatError) return 'rejected';
    throw err;
  }
}

test('random valid batches decode to exactly the records encoded', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const { bytes, records } = batchOf(seed, 1 + (seed % 7));
    const batch = decodeBatch(bytes);
    assert.equal(batch.records.length, records.length, `seed ${seed}`);
    assert.equal(batch.bootWallNs, BOOT);
    assert.equal(batch.totalLength, bytes.length);
    batch.records.forEach((r, i) => {
      assert.deepEqual(withoutRaw(r), withoutRaw(records[i]!), `seed ${seed} record ${i}`);
      assertWellFormed(r);
    });
  }
});

test('the batch header carries losses and the MORE and LOOKUP flags', () => {
  const g = new Gen(7);
  const bytes = encodeBatch([randomRecord(g, BOOT)], BOOT, { lostCount: 12, more: true, lookup: true });
  const batch = decodeBatch(bytes);
  assert.equal(batch.lostCount, 12);
  assert.deepEqual(batch.flags, { lost: true, more: true, lookup: true });
  const empty = decodeBatch(encodeBatch([], BOOT, { lostCount: 3 }));
  assert.equal(empty.records.length, 0);
  assert.equal(empty.lostCount, 3);
});

test('a newer library: larger fixed parts, unknown items and unknown record kinds are skipped', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const g = new Gen(seed);
    const records = Array.from({ length: 3 }, () => randomRecord(g, BOOT));
    const bytes = encodeBatch(records, BOOT, {
      extraFixedBytes: 24,
      unknownItems: [{ type: 99, data: new Uint8Array([1, 2, 3]) }, { type: 17, data: new Uint8Array(0) }],
      unknownRecords: 2,
    });
    const batch = decodeBatch(bytes);
    assert.equal(batch.skippedRecords, 2);
    batch.records.forEach((r, i) => assert.deepEqual(withoutRaw(r), withoutRaw(records[i]!)));
  }
});

test('every truncation is rejected, whether total_length tells the truth or not', () => {
  let cases = 0;
  for (let seed = 1; seed <= 6; seed++) {
    const { bytes } = batchOf(seed * 101, 3);
    for (let cut = 0; cut < bytes.length; cut++) {
      const short = bytes.slice(0, cut);
      assert.equal(decodeOrReject(short), 'rejected', `seed ${seed} cut at ${cut} of ${bytes.length}`);
      // The same cut with the header claiming exactly the bytes that are left: the decoder
      // must find the record or item that runs past the end.
      if (cut >= 16) {
        new DataView(short.buffer).setUint32(12, cut, true);
        assert.equal(decodeOrReject(short), 'rejected', `seed ${seed} cut at ${cut} with patched total_length`);
      }
      cases += 2;
    }
  }
  assert.ok(cases > 10_000, `only ${cases} truncation cases`);
});

test('random byte corruption decodes to well-formed records or is rejected, nothing else', () => {
  const g = new Gen(0xc0ffee);
  let decoded = 0;
  let rejected = 0;
  const originals = Array.from({ length: 97 }, (_, k) => batchOf(1 + k, 1 + (k % 4)).bytes);
  for (let i = 0; i < 40_000; i++) {
    const bytes = originals[i % originals.length]!;
    const copy = bytes.slice();
    const flips = 1 + g.int(4);
    for (let k = 0; k < flips; k++) {
      const at = g.int(copy.length);
      // Mostly single-bit flips (subtle corruption), sometimes a whole random byte.
      copy[at] = g.bool(0.7) ? copy[at]! ^ (1 << g.int(8)) : g.int(256);
    }
    if (decodeOrReject(copy) === 'decoded') decoded++;
    else rejected++;
  }
  // Flips inside field values leave a structurally valid batch; flips in lengths do not.
  assert.ok(decoded > 0 && rejected > 0, `decoded ${decoded}, rejected ${rejected}`);
});

test('random garbage behind a valid magic and version is rejected without hanging', () => {
  const g = new Gen(42);
  for (let i = 0; i < 10_000; i++) {
    const len = 32 + g.int(2000);
    const bytes = new Uint8Array(len);
    for (let k = 0; k < len; k++) bytes[k] = g.int(256);
    const v = new DataView(bytes.buffer);
    v.setUint32(0, FORMAT_MAGIC, true);
    v.setUint16(4, 1, true);
    v.setUint16(6, 32, true);
    if (g.bool()) v.setUint32(12, len, true);
    if (g.bool()) v.setUint32(8, g.int(4), true);
    decodeOrReject(bytes);
  }
});

test('rejections name what did not add up', () => {
  const { bytes } = batchOf(5, 2);
  const bad = bytes.slice();
  new DataView(bad.buffer).setUint32(0, 0xdeadbeef, true);
  assert.throws(() => decodeBatch(bad), /bad magic 0xdeadbeef/);
  const v2 = bytes.slice();
  new DataView(v2.buffer).setUint16(4, 2, true);
  assert.throws(() => decodeBatch(v2), /format version 2 is not supported/);
  assert.throws(() => decodeBatch(bytes.slice(0, 40)), /total_length \d+ is larger than the 40 bytes received/);
  assert.throws(() => decodeBatch(new Uint8Array(5)), /shorter than its 32-byte header/);
  const longer = new Uint8Array(bytes.length + 8);
  longer.set(bytes);
  new DataView(longer.buffer).setUint32(12, longer.length, true);
  assert.throws(() => decodeBatch(longer), /8 bytes left after record_count 2 records/);
  // A subarray view at an odd offset of a larger buffer reads the same as a copy.
  const host = new Uint8Array(bytes.length + 3);
  host.set(bytes, 3);
  assert.equal(decodeBatch(host.subarray(3)).records.length, 2);
});
