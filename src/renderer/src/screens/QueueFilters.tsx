/** Filters, sort and per-queue counts (`queueCounts`) for the queue. */
import { useEffect, useState } from 'react';
import { OBSERVATION_STATUSES } from '../../../shared/domain';
import { QUEUE_SORTS, type QueueFilter, type QueueSort, type Result } from '../../../shared/rpc';
import { errorMessage, useApi, useChangedEvents } from '../api';
import { cleanFilter, type QueueQuery } from '../queue';
import { CONDITIONS } from '../../../shared/condition';
import { ExportButton } from '../components/ExportPanel';
import { useBuildingNames } from './BuildingsScreen';

type Counts = Result<'queueCounts'>;

const SORT_LABELS: Record<QueueSort, string> = {
  uncertain: 'Uncertain first',
  confident: 'Confident first',
  newest: 'Newest first',
  path: 'By path',
};

export function useQueueCounts(filter: QueueFilter): { counts: Counts | null; error: string | null } {
  const api = useApi();
  const [counts, setCounts] = useState<Counts | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useChangedEvents(() => setTick((t) => t + 1), 500);
  useEffect(() => {
    let live = true;
    // the review tabs count every review state of the other filters
    api
      .call('queueCounts', { filter: { ...filter, review: undefined } })
      .then((c) => {
        if (live) {
          setCounts(c);
          setError(null);
        }
      })
      .catch((err: unknown) => live && setError(errorMessage(err)));
    return () => {
      live = false;
    };
  }, [api, filter, tick]);
  return { counts, error };
}

export function QueueFilters({ query, onChange, counts }: { query: QueueQuery; onChange(q: QueueQuery): void; counts: Counts | null }) {
  const f = query.filter;
  const buildings = useBuildingNames();
  const set = (patch: Partial<QueueFilter>) => onChange({ ...query, filter: cleanFilter({ ...f, ...patch }) });
  const tabs: { key: QueueFilter['review'] | undefined; label: string; n: number | undefined }[] = [
    { key: 'unreviewed', label: 'Unreviewed', n: counts?.byReview.unreviewed },
    { key: 'reviewed', label: 'Reviewed', n: counts?.byReview.reviewed },
    { key: 'flagged', label: 'Flagged', n: counts?.byReview.flagged },
    { key: undefined, label: 'All', n: counts?.total },
  ];
  return (
    <div className="filters" data-testid="queue-filters">
      <div className="queue-tabs" role="tablist" aria-label="Review queues" data-testid="queue-counts">
        {tabs.map((t) => (
          <button
            key={t.label}
            type="button"
            role="tab"
            aria-selected={f.review === t.key}
            className={`queue-tab${f.review === t.key ? ' is-active' : ''}`}
            data-testid={`queue-tab-${t.key ?? 'all'}`}
            onClick={() => set({ review: t.key })}
          >
            {t.label} <span className="count">{t.n ?? '…'}</span>
          </button>
        ))}
      </div>
      <div className="filter-row">
        <Select
          label="Status"
          testId="filter-status"
          value={f.status}
          onChange={(v) => set({ status: v as QueueFilter['status'] })}
          options={OBSERVATION_STATUSES.map((s) => ({ value: s, label: `${s} (${counts?.byStatus[s] ?? 0})` }))}
        />
        <Select
          label="Location"
          testId="filter-location"
          value={f.location}
          onChange={(v) => set({ location: v })}
          options={counted(counts?.locations)}
        />
        <Select label="Visit" testId="filter-visit" value={f.visit} onChange={(v) => set({ visit: v })} options={counted(counts?.visits)} />
        <Select label="Model" testId="filter-model" value={f.model} onChange={(v) => set({ model: v })} options={counted(counts?.models)} />
        <Select label="Label" testId="filter-label" value={f.label} onChange={(v) => set({ label: v })} options={counted(counts?.labels)} />
        <Select
          label="Building"
          testId="filter-building"
          value={f.building}
          onChange={(v) => set({ building: v, asset: undefined })}
          options={buildings.map((b) => ({ value: b, label: b }))}
        />
        <Select
          label="Grade"
          testId="filter-condition"
          value={f.condition}
          onChange={(v) => set({ condition: v as QueueFilter['condition'] })}
          options={CONDITIONS.map((c) => ({ value: c, label: c }))}
        />
        <label className="field compact">
          <span>Conf. min</span>
          <input
            type="number"
            min={0}
            max={1}
            step={0.05}
            data-testid="filter-conf-min"
            value={f.confMin ?? ''}
            placeholder="0"
            onChange={(e) => set({ confMin: parseConf(e.target.value) })}
          />
        </label>
        <label className="field compact">
          <span>max</span>
          <input
            type="number"
            min={0}
            max={1}
            step={0.05}
            data-testid="filter-conf-max"
            value={f.confMax ?? ''}
            placeholder="1"
            onChange={(e) => set({ confMax: parseConf(e.target.value) })}
          />
        </label>
        <label className="field">
          <span>Sort</span>
          <select data-testid="queue-sort" value={query.sort} onChange={(e) => onChange({ ...query, sort: e.target.value as QueueSort })}>
            {QUEUE_SORTS.map((s) => (
              <option key={s} value={s}>
                {SORT_LABELS[s]}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          className="link-btn"
          data-testid="filter-clear"
          onClick={() => onChange({ filter: {}, sort: query.sort })}
          disabled={!Object.keys(f).length}
        >
          Clear filters
        </button>
        <ExportButton filter={f} />
      </div>
    </div>
  );
}

function counted(rows: { name: string; n: number }[] | undefined) {
  return (rows ?? []).map((r) => ({ value: r.name, label: `${r.name} (${r.n})` }));
}

function parseConf(v: string): number | undefined {
  if (v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : undefined;
}

function Select(props: {
  label: string;
  testId: string;
  value: string | undefined;
  onChange(v: string | undefined): void;
  options: { value: string; label: string }[];
}) {
  const known = props.value === undefined || props.options.some((o) => o.value === props.value);
  return (
    <label className="field">
      <span>{props.label}</span>
      <select data-testid={props.testId} value={props.value ?? ''} onChange={(e) => props.onChange(e.target.value || undefined)}>
        <option value="">any</option>
        {!known && <option value={props.value}>{props.value}</option>}
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}
