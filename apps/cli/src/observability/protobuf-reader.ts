/**
 * A reader of protobuf's wire format over one buffer: the few calls a hand-written decoder of a
 * known message needs (field tags, varints, fixed64, length-delimited slices), each checking it stays
 * within its bounds, so a truncated or garbled body throws instead of reading past its end.
 *
 * Why by hand: the supervisor decodes every span the platform exports, and `@bufbuild/protobuf`'s
 * `fromBinary` walks a reflected schema and builds a message object per field on the way: 7–11 ms
 * of the supervisor's CPU per placed order, about nine times what this reader costs
 * (bench/README.md, "Span decoding"). OpenTelemetry's own JavaScript exporter writes OTLP with a
 * hand-written serializer for the same reason.
 */
export class ProtobufReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #buffer: Buffer;
  #position: number;
  readonly #end: number;

  /** `within`: the reader of the enclosing message, whose views of the same bytes are reused. */
  constructor(bytes: Uint8Array, start = 0, end = bytes.length, within?: ProtobufReader) {
    this.#bytes = bytes;
    this.#view = within ? within.#view : new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#buffer = within ? within.#buffer : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#position = start;
    this.#end = end;
  }

  /** Whether the message (or the slice this reader was made for) has more fields. */
  more(): boolean {
    return this.#position < this.#end;
  }

  /** The next field's tag: its number (`tag >>> 3`) and wire type (`tag & 7`). */
  tag(): number {
    return this.uint32();
  }

  /** A varint that fits 32 bits unsigned (tags, lengths, enums, counts); a longer one is cut to its low 32 bits, as protobuf does. */
  uint32(): number {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const byte = this.#byte();
      if (shift < 32) value |= (byte & 0x7f) << shift;
      if (byte < 0x80) return value >>> 0;
    }
    throw new RangeError('protobuf: a varint longer than 10 bytes');
  }

  /** A varint as a signed 64-bit integer (int64), as a number (exact up to 2^53). */
  int64(): number {
    let low = 0;
    let high = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const byte = this.#byte();
      if (shift < 28) low |= (byte & 0x7f) << shift;
      else if (shift === 28) {
        low |= (byte & 0x0f) << 28;
        high |= (byte & 0x7f) >> 4;
      } else high |= (byte & 0x7f) << (shift - 32);
      if (byte < 0x80) return Number(BigInt.asIntN(64, (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0)));
    }
    throw new RangeError('protobuf: a varint longer than 10 bytes');
  }

  /** A varint read as a boolean. */
  bool(): boolean {
    return this.int64() !== 0;
  }

  /** A fixed64 as an unsigned 64-bit integer (times in nanoseconds). */
  fixed64(): bigint {
    const at = this.#advance(8);
    return this.#view.getBigUint64(at, true);
  }

  /** A double (wire type 1). */
  double(): number {
    const at = this.#advance(8);
    return this.#view.getFloat64(at, true);
  }

  /** A length-delimited field's bounds: [start, end) in the buffer. */
  slice(): [number, number] {
    const length = this.uint32();
    const start = this.#advance(length);
    return [start, start + length];
  }

  /** A length-delimited field as UTF-8 text. */
  string(): string {
    const [start, end] = this.slice();
    return this.#buffer.toString('utf8', start, end);
  }

  /** A length-delimited field as lowercase hex (ids). */
  hex(): string {
    const [start, end] = this.slice();
    return this.#buffer.toString('hex', start, end);
  }

  /** A reader of the embedded message that is the next length-delimited field. */
  message(): ProtobufReader {
    const [start, end] = this.slice();
    return new ProtobufReader(this.#bytes, start, end, this);
  }

  /** Skips a field of `wireType` this decoder does not read. */
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.uint32();
        return;
      case 1:
        this.#advance(8);
        return;
      case 2:
        this.slice();
        return;
      case 5:
        this.#advance(4);
        return;
      default:
        throw new RangeError(`protobuf: wire type ${wireType} is not one this reader knows`);
    }
  }

  #byte(): number {
    if (this.#position >= this.#end) throw new RangeError('protobuf: the message ends inside a field');
    return this.#bytes[this.#position++] as number;
  }

  /** Moves past `length` bytes and returns where they start. */
  #advance(length: number): number {
    const at = this.#position;
    if (length > this.#end - at) throw new RangeError('protobuf: a field runs past the end of its message');
    this.#position = at + length;
    return at;
  }
}
