/** The side panel of Review: the photo's facts and its CV summary (from `photo`). */
import type { ReactNode } from 'react';
import type { PhotoDetail } from '../../../shared/rpc';
import { formatConfidence, pct } from '../queue';
import { LabelCountRows } from '../components/LabelCountRows';

export function PhotoSummary({ detail, children }: { detail: PhotoDetail; children?: ReactNode }) {
  const { item, summary, labelCounts } = detail;
  return (
    <aside className="side-panel" data-testid="photo-summary">
      <h2 className="panel-title" title={item.sourcePath}>
        {item.fileName}
      </h2>
      <dl className="facts">
        <dt>Review</dt>
        <dd>
          <span className={`badge review-${item.review}`} data-testid="photo-review-state">
            {item.review}
          </span>
          {item.flagReason && <span className="flag-reason"> {item.flagReason}</span>}
        </dd>
        {item.sourceState !== 'present' && (
          <>
            <dt>File</dt>
            <dd data-testid="photo-source-state">
              {item.sourceState === 'deleted' ? 'deleted (results kept)' : 'changed: another photo is at this path now'}
            </dd>
          </>
        )}
        <dt>Location</dt>
        <dd>{item.location ?? '—'}</dd>
        <dt>Visit</dt>
        <dd>{item.visit ?? '—'}</dd>
        <dt>Model</dt>
        <dd>{item.model ?? '—'}</dd>
        <dt>Size</dt>
        <dd>{item.width && item.height ? `${item.width} × ${item.height}` : '—'}</dd>
        <dt>Top conf.</dt>
        <dd>{formatConfidence(item.topConfidence)}</dd>
      </dl>
      <div className="stats">
        <div className="stat">
          <b data-testid="sum-total">{summary.totalProducts}</b>
          <span>products</span>
        </div>
        <div className="stat">
          <b data-testid="sum-unique">{summary.uniqueSKUs}</b>
          <span>unique SKUs</span>
        </div>
        <div className="stat">
          <b>{summary.complianceScore === null ? '—' : pct(summary.complianceScore)}</b>
          <span>compliance</span>
        </div>
      </div>
      <div className="oos">
        <span className="muted">Out of stock: </span>
        {summary.outOfStock === null ? (
          <span className="muted">no expected list</span>
        ) : summary.outOfStock.length ? (
          summary.outOfStock.join(', ')
        ) : (
          'none'
        )}
      </div>
      <table className="counts" data-testid="photo-label-counts">
        <tbody>
          <LabelCountRows counts={labelCounts} />
          {!labelCounts.length && (
            <tr>
              <td className="muted">No boxes.</td>
            </tr>
          )}
        </tbody>
      </table>
      {children}
    </aside>
  );
}
