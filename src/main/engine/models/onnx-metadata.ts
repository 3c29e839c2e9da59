/**
 * Reads `metadata_props` of an ONNX ModelProto without a protobuf dependency. onnxruntime-node does
 * not expose them, and Ultralytics exports keep their class names (`names`) and `imgsz` there.
 * Only top-level fields are walked; the graph (field 7) is skipped by its length.
 */

function readVarint(buf: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated ONNX file (varint)');
    const byte = buf[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, pos];
    shift += 7;
    if (shift > 63) throw new Error('malformed ONNX file (varint too long)');
  }
}

function skipField(buf: Uint8Array, pos: number, wireType: number): number {
  switch (wireType) {
    case 0:
      return readVarint(buf, pos)[1];
    case 1:
      return pos + 8;
    case 2: {
      const [len, p] = readVarint(buf, pos);
      return p + len;
    }
    case 5:
      return pos + 4;
    default:
      throw new Error(`not an ONNX model (protobuf wire type ${wireType})`);
  }
}

const decoder = new TextDecoder();

export function readOnnxMetadata(buf: Uint8Array): Record<string, string> {
  const props: Record<string, string> = {};
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p] = readVarint(buf, pos);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 14 && wire === 2) {
      const [len, start] = readVarint(buf, p);
      const end = start + len;
      let q = start;
      let key = '';
      let value = '';
      while (q < end) {
        const [t, q1] = readVarint(buf, q);
        const [l, s] = readVarint(buf, q1);
        const text = decoder.decode(buf.subarray(s, s + l));
        if (t >> 3 === 1) key = text;
        else if (t >> 3 === 2) value = text;
        q = s + l;
      }
      props[key] = value;
      pos = end;
    } else {
      pos = skipField(buf, p, wire);
    }
    if (pos > buf.length) throw new Error('truncated ONNX file');
  }
  return props;
}

/** Parses an Ultralytics `names` literal: `{0: 'person', 1: 'bicycle', ...}` (a Python dict). */
export function parseUltralyticsNames(literal: string): string[] {
  const names: string[] = [];
  const re = /(\d+)\s*:\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")/g;
  for (let m = re.exec(literal); m; m = re.exec(literal)) {
    names[Number(m[1])] = (m[2] ?? m[3]).replace(/\\(.)/g, '$1');
  }
  for (let i = 0; i < names.length; i++) if (names[i] === undefined) throw new Error(`class ${i} missing in names`);
  return names;
}
