import { createHash } from 'node:crypto';

/**
 * A small, valid one-page PDF showing `title`. The body depends on the title, so each seeded object
 * has different bytes and a download can be matched to its key.
 */
export function samplePdf(title: string): Buffer {
  const ascii = title.normalize('NFKD').replace(/[^\x20-\x7e]/g, '?');
  const text = (s: string) => s.replace(/[\\()]/g, (c) => `\\${c}`);
  const digest = createHash('sha256').update(title).digest('hex').slice(0, 16);
  const content = `BT /F1 16 Tf 72 720 Td (${text(ascii)}) Tj 0 -24 Td /F1 10 Tf (laminar sample ${digest}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((obj, i) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${i + 1} 0 obj\n${obj}\nendobj\n`;
  });
  const xrefAt = Buffer.byteLength(body, 'latin1');
  // Each xref entry is exactly 20 bytes, end of line included.
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) body += `${String(off).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}
