/** Batch summary of the queue's current filter (`batchSummary` + `queueCounts`). */
import { useEffect, useState } from 'react';
import type { Result } from '../../../shared/rpc';
import { errorMessage, useApi, useChangedEvents } from '../api';
import { describeFilter, pct, type QueueQuery } from '../queue';
import { LabelCountRows } from '../components/LabelCountRows';
import { ExportButton } from '../components/ExportPanel';
import { CompliancePanel } from './CompliancePanel';

export function SummaryScreen({ query }: { query: QueueQuery }) {
  const api = useApi();
  const [data, setData] = useState<{
    batch: Result<'batchSummary'>;
    counts: Result<'queueCounts'>;
    compliance: Result<'compliance'>;
  } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useChangedEvents(() => setTick((t) => t + 1), 1000);

  useEffect(() => {
    let live = true;
    Promise.all([
      api.call('batchSummary', { filter: query.filter }),
      api.call('queueCounts', { filter: query.filter }),
      api.call('compliance', { filter: query.filter }),
    ])
      .then(([batch, counts, compliance]) => {
        if (!live) return;
        setData({ batch, counts, compliance });
        setError(null);
      })
      .catch((err: unknown) => live && setError(errorMessage(err)));
    return () => {
      live = false;
    };
  }, [api, query.filter, tick]);

  if (error) return <p className="error-text screen-message">{error}</p>;
  if (!data) return <p className="screen-message muted">Loading the summary…</p>;
  const { batch, counts } = data;
  const s = batch.summary;
  const reviewedShare = counts.total ? (counts.byReview.reviewed + counts.byReview.flagged) / counts.total : 0;

  return (
    <div className="summary" data-testid="summary-screen">
      <header className="summary-head">
        <h2>Batch summary</h2>
        {/* the counts below are of these photos only: say which (the Queue's filter, Unreviewed by default) */}
        <span data-testid="summary-filter" title="The Queue's filter: change it on the Queue screen">
          Photos: <b>{describeFilter(query.filter)}</b> <span className="muted">(the Queue’s filter)</span>
        </span>
        <span className="tool-spacer" />
        <ExportButton filter={query.filter} />
      </header>
      <div className="stats big">
        <Stat n={batch.photos} label="photos" testId="batch-photos" />
        <Stat n={s.totalProducts} label="products" testId="batch-total" />
        <Stat n={s.uniqueSKUs} label="unique SKUs" testId="batch-unique" />
        <Stat n={s.complianceScore === null ? '—' : s.complianceScore.toFixed(2)} label="compliance" testId="batch-compliance" />
        <Stat n={counts.byReview.reviewed} label="reviewed" />
        <Stat n={counts.byReview.flagged} label="flagged" />
        <Stat n={counts.byReview.unreviewed} label="to review" />
        <Stat n={counts.byStatus.failed} label="failed photos" />
      </div>
      <div className="progress wide" title={`${pct(reviewedShare)} reviewed or flagged`}>
        <span style={{ width: `${reviewedShare * 100}%` }} />
      </div>
      <p className="oos" data-testid="batch-oos">
        <span className="muted">Out of stock: </span>
        {s.outOfStock === null ? (
          <span className="muted">no expected list for this batch</span>
        ) : s.outOfStock.length ? (
          s.outOfStock.join(', ')
        ) : (
          'none'
        )}
      </p>
      <h3>Compliance</h3>
      <CompliancePanel locations={data.compliance.locations} />
      <table className="counts wide" data-testid="batch-label-counts">
        <thead>
          <tr>
            <th>Label</th>
            <th className="num">Boxes</th>
            <th />
          </tr>
        </thead>
        <tbody>
          <LabelCountRows counts={batch.labelCounts} />
        </tbody>
      </table>
    </div>
  );
}

function Stat({ n, label, testId }: { n: number | string; label: string; testId?: string }) {
  return (
    <div className="stat">
      <b data-testid={testId}>{typeof n === 'number' ? n.toLocaleString() : n}</b>
      <span>{label}</span>
    </div>
  );
}
