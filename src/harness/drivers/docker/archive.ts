/** Size of a tar block in bytes. */
const BLOCK_BYTES = 512;

function writeField(header: Buffer, offset: number, length: number, text: string): void {
  header.write(text.slice(0, length), offset, length, 'utf8');
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/**
 * Builds a ustar archive that contains one regular file (mode 0644, owner root), the format the
 * engine's `PUT /containers/{id}/archive` takes. Names up to 100 bytes only.
 */
export function singleFileTar(
  name: string,
  content: string,
  mtimeS = Math.floor(Date.now() / 1000),
): Buffer {
  const body = Buffer.from(content, 'utf8');
  const header = Buffer.alloc(BLOCK_BYTES);
  writeField(header, 0, 100, name);
  writeField(header, 100, 8, octal(0o644, 8));
  writeField(header, 108, 8, octal(0, 8));
  writeField(header, 116, 8, octal(0, 8));
  writeField(header, 124, 12, octal(body.length, 12));
  writeField(header, 136, 12, octal(mtimeS, 12));
  writeField(header, 156, 1, '0');
  writeField(header, 257, 6, 'ustar\0');
  writeField(header, 263, 2, '00');
  // The checksum is the byte sum of the header with its own field read as eight spaces.
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  writeField(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padding = (BLOCK_BYTES - (body.length % BLOCK_BYTES)) % BLOCK_BYTES;
  return Buffer.concat([header, body, Buffer.alloc(padding), Buffer.alloc(2 * BLOCK_BYTES)]);
}
