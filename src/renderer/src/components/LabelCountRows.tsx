import { labelColor } from '../review/geometry';

/** Table rows of boxes per label, with a bar scaled to the largest count (photo and batch summaries). */
export function LabelCountRows({ counts }: { counts: { name: string; n: number }[] }) {
  const max = Math.max(1, ...counts.map((l) => l.n));
  return (
    <>
      {counts.map((l) => (
        <tr key={l.name}>
          <td>
            <span className="swatch" style={{ background: labelColor(l.name) }} />
            {l.name}
          </td>
          <td className="num">{l.n}</td>
          <td className="bar-cell">
            <span className="bar" style={{ width: `${(l.n / max) * 100}%` }} />
          </td>
        </tr>
      ))}
    </>
  );
}
