/**
 * One bad record must not cost its whole batch (issue 10, finding 13): the decoder gives up
 * one record at a time where the record headers still frame the batch, and counts what it
 * gave up, which the binding adds to `lost`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchFormatError, decodeBatch, decodeBatchRecovering } from '../../quark-ffi/ts/decode.js';
import { encodeBatch } from '../../quark-ffi/ts/encode.js';
import { Gen, assertWellFormed, randomRecord, withoutRaw } from './records-for-tests.js';

const BOOT = 1_700_000_000_123_456_789n;
const HEADER = 32;

function threeRecords(seed: number): { bytes: Buffer; starts: number[]; records: ReturnType<typeof randomRecord>[] } {
  const g = new Gen(seed);
  const records = [randomRecord(g, BOOT), randomRecord(g, BOOT), randomRecord(g, BOOT)];
  const bytes = Buffer.from(encodeBatch(records, BOOT, { lostCount: 2 }));
  const starts = [HEADER];
  for (let i = 0; i < 2; i++) starts.push(starts[i]! + bytes.readUInt32LE(starts[i]!));
  return { bytes, starts, records };
}

test('a record whose contents do not add up is skipped; the records around it are kept', () => {
  const { bytes, starts, records } = threeRecords(11);
  // previous_count (offset 270) no longer matches the PREVIOUS items: the record is bad, its length still frames it
  bytes.writeUInt16LE(99, starts[1]! + 270);
  assert.throws(() => decodeBatch(bytes), BatchFormatError, 'the strict decoder still refuses the batch');
  const got = decodeBatchRecovering(bytes);
  assert.equal(got.records.length, 2);
  assert.deepEqual(withoutRaw(got.records[0]!), withoutRaw(records[0]!));
  assert.deepEqual(withoutRaw(got.records[1]!), withoutRaw(records[2]!));
  assert.equal(got.lostRecords, 1);
  assert.equal(got.errors.length, 1);
  assert.match(got.errors[0]!.message, /previous_count 99/);
  assert.equal(got.lostCount, 2, 'the library\'s own loss count is kept apart');
});

test('a record whose header is bad loses the rest of the batch, counted', () => {
  const { bytes, starts, records } = threeRecords(12);
  bytes.writeUInt32LE(8, starts[1]!); // shorter than a record header: nothing after it can be found
  const got = decodeBatchRecovering(bytes);
  assert.equal(got.records.length, 1);
  assert.deepEqual(withoutRaw(got.records[0]!), withoutRaw(records[0]!));
  assert.equal(got.lostRecords, 2);
});

test('a bad batch header still throws', () => {
  const { bytes } = threeRecords(13);
  bytes.writeUInt32LE(0xdeadbeef, 0);
  assert.throws(() => decodeBatchRecovering(bytes), BatchFormatError);
});

test('under random corruption every announced record is decoded, skipped or counted lost', () => {
  for (let seed = 1; seed <= 1000; seed++) {
    const g = new Gen(seed);
    const n = 1 + (seed % 5);
    const bytes = Buffer.from(encodeBatch(Array.from({ length: n }, () => randomRecord(g, BOOT)), BOOT));
    const flips = 1 + (seed % 4);
    for (let k = 0; k < flips; k++) {
      const at = HEADER + g.int(bytes.length - HEADER);
      bytes[at] = g.int(256);
    }
    let got: ReturnType<typeof decodeBatchRecovering>;
    try {
      got = decodeBatchRecovering(bytes);
    } catch (err) {
      assert.ok(err instanceof BatchFormatError, `seed ${seed}: ${String(err)}`);
      continue;
    }
    for (const r of got.records) assertWellFormed(r);
    assert.equal(got.records.length + got.skippedRecords + got.lostRecords, n, `seed ${seed}`);
  }
});
