/**
 * Planogram compliance of the Summary's filter, with its parts: per location, each expected SKU and
 * the three checks (present, facings, row), so an auditor sees why a store scored what it did.
 * complianceScore = compliant SKUs / expected SKUs (README, "Retail").
 */
import type { LocationCompliance } from '../../../shared/rpc';
import { pct } from '../queue';

const mark = (ok: boolean) => <span className={ok ? 'ok-mark' : 'bad-mark'}>{ok ? '✓' : '✗'}</span>;

export function CompliancePanel({ locations }: { locations: LocationCompliance[] }) {
  if (!locations.length) {
    return (
      <p className="muted" data-testid="compliance-none">
        No expected SKUs for these photos’ locations: import a planogram (<code>kliq-audit planogram import</code>) to get compliance.
      </p>
    );
  }
  return (
    <div className="compliance" data-testid="compliance">
      {locations.map((l) => {
        const ok = l.items.filter((i) => i.compliant).length;
        return (
          <section key={l.location} className="compliance-location" data-testid="compliance-location" data-location={l.location}>
            <h3>
              {l.location}: <b data-testid="compliance-score">{l.score.toFixed(2)}</b>{' '}
              <span className="muted" data-testid="compliance-formula">
                = {ok} compliant of {l.items.length} expected SKUs ({pct(l.score)}), {l.photos} photo{l.photos === 1 ? '' : 's'}
              </span>
            </h3>
            <table className="counts wide" data-testid="compliance-items">
              <thead>
                <tr>
                  <th>SKU</th>
                  <th>Name</th>
                  <th className="num">Facings found / expected</th>
                  <th className="num">Row found / expected</th>
                  <th>Present</th>
                  <th>Facings</th>
                  <th>Row</th>
                  <th>Compliant</th>
                </tr>
              </thead>
              <tbody>
                {l.items.map((i) => (
                  <tr key={i.sku} data-testid="compliance-item" data-sku={i.sku} data-compliant={i.compliant}>
                    <td>{i.sku}</td>
                    <td>{i.name}</td>
                    <td className="num">
                      {i.foundFacings} / {i.expectedFacings}
                    </td>
                    <td className="num">
                      {i.foundRows.length ? i.foundRows.join(', ') : '—'} / {i.expectedRow ?? 'any'}
                    </td>
                    <td>{mark(i.present)}</td>
                    <td>{mark(i.facingsOk)}</td>
                    <td>{mark(i.rowOk)}</td>
                    <td>{mark(i.compliant)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        );
      })}
    </div>
  );
}
