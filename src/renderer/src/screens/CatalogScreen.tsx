/**
 * Catalog screen: the SKUs (search by name, SKU, brand, category or model label), a catalog CSV import
 * (the file is read by the page and its text sent: all rows or none, bad lines named), and the expected
 * SKUs of a location (planogram-lite) edited and saved; Summary's compliance follows.
 */
import { useCallback, useEffect, useState, type ChangeEvent } from 'react';
import type { CatalogRecord, PlanogramRecord } from '../../../shared/rpc';
import { errorMessage, useApi } from '../api';

interface Row {
  sku: string;
  expectedFacings: string;
  expectedRow: string;
}

export function CatalogScreen() {
  const api = useApi();
  const [query, setQuery] = useState('');
  const [items, setItems] = useState<CatalogRecord[] | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [tick, setTick] = useState(0);
  const [locations, setLocations] = useState<{ name: string; n: number }[]>([]);
  const [location, setLocation] = useState('');
  const [rows, setRows] = useState<Row[]>([]);
  const [planMessage, setPlanMessage] = useState<{ ok: boolean; text: string } | null>(null);

  useEffect(() => {
    let live = true;
    const t = setTimeout(() => {
      api
        .call('catalogList', { query, limit: 500 })
        .then((r) => live && setItems(r))
        .catch((err: unknown) => live && setMessage({ ok: false, text: errorMessage(err) }));
    }, 120);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [api, query, tick]);

  useEffect(() => {
    api
      .call('planogramLocations', {})
      .then(setLocations)
      .catch(() => undefined);
  }, [api, tick]);

  const loadPlan = useCallback(
    (name: string) => {
      setLocation(name);
      setPlanMessage(null);
      if (!name.trim()) return setRows([]);
      api
        .call('planogram', { location: name.trim() })
        .then((r: PlanogramRecord[]) =>
          setRows(
            r.map((x) => ({
              sku: x.sku,
              expectedFacings: String(x.expectedFacings),
              expectedRow: x.expectedRow === null ? '' : String(x.expectedRow),
            })),
          ),
        )
        .catch((err: unknown) => setPlanMessage({ ok: false, text: errorMessage(err) }));
    },
    [api],
  );

  const importFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    setMessage(null);
    try {
      const r = await api.call('catalogImportCsv', { csv: await file.text() });
      setMessage({ ok: true, text: `${file.name}: ${r.imported} SKUs imported (${r.created} new, ${r.updated} updated)` });
      setTick((t) => t + 1);
    } catch (err) {
      setMessage({ ok: false, text: `${file.name}: ${errorMessage(err)}` });
    }
  };

  const savePlan = async () => {
    setPlanMessage(null);
    const bad = rows.find(
      (r) => !r.sku.trim() || !/^\d+$/.test(r.expectedFacings) || (r.expectedRow !== '' && !/^[1-9]\d*$/.test(r.expectedRow)),
    );
    if (bad) {
      setPlanMessage({
        ok: false,
        text: `check the row of "${bad.sku || '(no SKU)'}": a SKU, facings a whole number ≥ 0, row empty or ≥ 1`,
      });
      return;
    }
    try {
      const saved = await api.call('setPlanogram', {
        location: location.trim(),
        rows: rows.map((r) => ({
          sku: r.sku.trim(),
          expectedFacings: Number(r.expectedFacings),
          expectedRow: r.expectedRow === '' ? null : Number(r.expectedRow),
        })),
      });
      setPlanMessage({ ok: true, text: `saved: ${saved.length} expected SKU${saved.length === 1 ? '' : 's'} at ${location.trim()}` });
      setTick((t) => t + 1);
    } catch (err) {
      setPlanMessage({ ok: false, text: errorMessage(err) });
    }
  };

  const setRow = (i: number, patch: Partial<Row>) => setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));

  return (
    <div className="sync-screen" data-testid="catalog-screen">
      <header className="summary-head">
        <h2>Catalog</h2>
        <span className="muted">
          {items ? `${items.length}${items.length === 500 ? '+' : ''} SKU${items.length === 1 ? '' : 's'}` : 'loading…'}
        </span>
      </header>
      <div className="form-row">
        <input
          type="search"
          placeholder="Search name, SKU, brand, category, model label"
          value={query}
          data-testid="catalog-search"
          onChange={(e) => setQuery(e.target.value)}
        />{' '}
        <label>
          Import a catalog CSV…{' '}
          <input type="file" accept=".csv,text/csv" data-testid="catalog-import" onChange={(e) => void importFile(e)} />
        </label>
      </div>
      <p className="muted">
        Columns: sku, name, brand, category, model_label (the detector label it maps to), expected_facings, shelf_row.
      </p>
      {message && (
        <pre className={message.ok ? 'muted' : 'error-text'} data-testid="catalog-message">
          {message.text}
        </pre>
      )}
      <table className="compact" data-testid="catalog-table">
        <thead>
          <tr>
            <th>SKU</th>
            <th>Name</th>
            <th>Brand</th>
            <th>Category</th>
            <th>Model label</th>
            <th>Facings</th>
            <th>Row</th>
          </tr>
        </thead>
        <tbody>
          {(items ?? []).map((c) => (
            <tr key={c.sku} data-testid="catalog-row" data-sku={c.sku}>
              <td>{c.sku}</td>
              <td>{c.name}</td>
              <td>{c.brand ?? ''}</td>
              <td>{c.category ?? ''}</td>
              <td>{c.modelLabel ?? ''}</td>
              <td>{c.expectedFacings ?? ''}</td>
              <td>{c.shelfRow ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <section>
        <h3>Expected SKUs of a location (planogram)</h3>
        <div className="form-row">
          <input
            list="planogram-locations"
            placeholder="Location"
            value={location}
            data-testid="planogram-location"
            onChange={(e) => setLocation(e.target.value)}
            onBlur={(e) => loadPlan(e.target.value)}
          />
          <datalist id="planogram-locations">
            {locations.map((l) => (
              <option key={l.name} value={l.name}>{`${l.n} expected`}</option>
            ))}
          </datalist>{' '}
          <button type="button" onClick={() => loadPlan(location)} disabled={!location.trim()}>
            Open
          </button>
        </div>
        {location.trim() && (
          <>
            <table className="compact" data-testid="planogram-table">
              <thead>
                <tr>
                  <th>SKU</th>
                  <th>Expected facings</th>
                  <th>Expected row (1 = top)</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {rows.map((r, i) => (
                  <tr key={i} data-testid="planogram-row">
                    <td>
                      <input value={r.sku} list="catalog-skus" aria-label="SKU" onChange={(e) => setRow(i, { sku: e.target.value })} />
                    </td>
                    <td>
                      <input
                        value={r.expectedFacings}
                        size={4}
                        aria-label="Expected facings"
                        onChange={(e) => setRow(i, { expectedFacings: e.target.value })}
                      />
                    </td>
                    <td>
                      <input
                        value={r.expectedRow}
                        size={4}
                        aria-label="Expected row"
                        onChange={(e) => setRow(i, { expectedRow: e.target.value })}
                      />
                    </td>
                    <td>
                      <button type="button" onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))}>
                        Remove
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <datalist id="catalog-skus">
              {(items ?? []).map((c) => (
                <option key={c.sku} value={c.sku}>
                  {c.name}
                </option>
              ))}
            </datalist>
            <div className="form-row">
              <button
                type="button"
                data-testid="planogram-add"
                onClick={() => setRows((rs) => [...rs, { sku: '', expectedFacings: '1', expectedRow: '' }])}
              >
                Add a SKU
              </button>{' '}
              <button type="button" className="primary" data-testid="planogram-save" onClick={() => void savePlan()}>
                Save
              </button>
            </div>
          </>
        )}
        {planMessage && (
          <p className={planMessage.ok ? 'muted' : 'error-text'} data-testid="planogram-message">
            {planMessage.text}
          </p>
        )}
      </section>
    </div>
  );
}
