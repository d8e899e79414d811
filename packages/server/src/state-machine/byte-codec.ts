// A tiny, allocation-light binary writer/reader (unsigned LEB128 varints, length-prefixed bytes
// and strings). Shared by the command codec and the snapshot codec; numbers up to 2^53 - 1.

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** Thrown when bytes cannot be decoded (truncated, wrong tag, bad UTF-8). */
export class DecodeError extends Error {
  override name = "DecodeError";
}

export class ByteWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initialBytes = 64) {
    this.buf = new Uint8Array(initialBytes);
  }

  private ensure(extraBytes: number): void {
    if (this.pos + extraBytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extraBytes) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(value: number): this {
    this.ensure(1);
    this.buf[this.pos++] = value & 0xff;
    return this;
  }

  /** Unsigned varint; `value` must be a safe non-negative integer. */
  varint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
    this.ensure(8);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.varint(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
    return this;
  }

  string(value: string): this {
    return this.bytes(textEncoder.encode(value));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export class ByteReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  u8(): number {
    if (this.pos >= this.buf.length) throw new DecodeError("truncated input");
    return this.buf[this.pos++]!;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) throw new DecodeError("varint too large");
        return result;
      }
      scale *= 0x80;
    }
    throw new DecodeError("varint too long");
  }

  bytes(): Uint8Array {
    const length = this.varint();
    if (this.pos + length > this.buf.length) throw new DecodeError("truncated bytes");
    const out = this.buf.slice(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  string(): string {
    const length = this.varint();
    if (this.pos + length > this.buf.length) throw new DecodeError("truncated string");
    try {
      return textDecoder.decode(this.buf.subarray(this.pos, (this.pos += length)));
    } catch {
      throw new DecodeError("invalid UTF-8");
    }
  }

  /** Asserts that every byte was consumed. */
  end(): void {
    if (!this.done) throw new DecodeError(`${this.buf.length - this.pos} trailing bytes`);
  }
}
