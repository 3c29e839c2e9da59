/**
 * BuildingScan drill-down: buildings → the assets of one → the visits that photographed one asset →
 * that visit's photos in the Queue (filtered by asset and visit).
 */
import '../buildings.css';
import { useEffect, useState } from 'react';
import type { Result } from '../../../shared/rpc';
import type { QueueFilter } from '../../../shared/rpc';
import { CONDITIONS } from '../../../shared/condition';
import { errorMessage, useApi, useChangedEvents } from '../api';

type Building = Result<'buildings'>[number];
type Asset = Result<'buildingAssets'>[number];

export function BuildingsScreen({ onOpenQueue }: { onOpenQueue(filter: QueueFilter): void }) {
  const api = useApi();
  const [buildings, setBuildings] = useState<Result<'buildings'> | null>(null);
  const [building, setBuilding] = useState<Building | null>(null);
  const [assets, setAssets] = useState<Result<'buildingAssets'> | null>(null);
  const [asset, setAsset] = useState<Asset | null>(null);
  const [visits, setVisits] = useState<Result<'assetVisits'> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useChangedEvents(() => setTick((t) => t + 1), 1000);

  useEffect(() => {
    let live = true;
    api
      .call('buildings', {})
      .then((b) => live && setBuildings(b))
      .catch((err: unknown) => live && setError(errorMessage(err)));
    return () => {
      live = false;
    };
  }, [api, tick]);
  useEffect(() => {
    if (!building) return setAssets(null);
    let live = true;
    api
      .call('buildingAssets', { buildingId: building.id })
      .then((a) => live && setAssets(a))
      .catch((err: unknown) => live && setError(errorMessage(err)));
    return () => {
      live = false;
    };
  }, [api, building, tick]);
  useEffect(() => {
    if (!asset) return setVisits(null);
    let live = true;
    api
      .call('assetVisits', { assetId: asset.id })
      .then((v) => live && setVisits(v))
      .catch((err: unknown) => live && setError(errorMessage(err)));
    return () => {
      live = false;
    };
  }, [api, asset, tick]);

  if (error) return <p className="error-text screen-message">{error}</p>;
  if (!buildings) return <p className="screen-message muted">Loading the buildings…</p>;
  if (!buildings.length) {
    return (
      <div className="screen-message" data-testid="buildings-screen">
        <p>
          No building yet. Audit inspection photos with <code>kliq-audit audit PHOTOS --building NAME --asset NAME --visit NAME</code>.
        </p>
      </div>
    );
  }
  const grades = (c: Building['conditions']) =>
    CONDITIONS.filter((k) => c[k]).map((k) => (
      <span key={k} className={`grade grade-${k}`}>
        {c[k]} {k}
      </span>
    ));

  return (
    <div className="drill" data-testid="buildings-screen">
      <nav className="crumbs" aria-label="Drill-down" data-testid="drill-crumbs">
        <button type="button" className="link-btn" onClick={() => (setBuilding(null), setAsset(null))}>
          Buildings
        </button>
        {building && (
          <>
            {' › '}
            <button type="button" className="link-btn" onClick={() => setAsset(null)}>
              {building.name}
            </button>
          </>
        )}
        {asset && <> › {asset.name}</>}
      </nav>
      {!building && (
        <table className="counts wide" data-testid="buildings-table">
          <thead>
            <tr>
              <th>Building</th>
              <th className="num">Assets</th>
              <th className="num">Photos</th>
              <th className="num">Visits</th>
              <th>Asset grades</th>
            </tr>
          </thead>
          <tbody>
            {buildings.map((b) => (
              <tr key={b.id} className="clickable" data-testid="building-row" data-name={b.name} onClick={() => setBuilding(b)}>
                <td>
                  <button type="button" className="link-btn">
                    {b.name}
                  </button>
                </td>
                <td className="num">{b.assets}</td>
                <td className="num">{b.photos}</td>
                <td className="num">{b.visits}</td>
                <td>{grades(b.conditions)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {building && !asset && (
        <table className="counts wide" data-testid="assets-table">
          <thead>
            <tr>
              <th>Asset</th>
              <th>Grade</th>
              <th className="num">Photos</th>
              <th className="num">Visits</th>
              <th>Last visit</th>
            </tr>
          </thead>
          <tbody>
            {(assets ?? []).map((a) => (
              <tr key={a.id} className="clickable" data-testid="asset-row" data-name={a.name} onClick={() => setAsset(a)}>
                <td>
                  <button type="button" className="link-btn">
                    {a.name}
                  </button>
                </td>
                <td>
                  <span className={`grade grade-${a.condition ?? 'none'}`} data-testid="asset-row-condition">
                    {a.condition ?? '—'}
                  </span>
                </td>
                <td className="num">{a.photos}</td>
                <td className="num">{a.visits}</td>
                <td>{a.lastVisit ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {asset && (
        <table className="counts wide" data-testid="visits-table">
          <thead>
            <tr>
              <th>Visit</th>
              <th className="num">Photos</th>
              <th className="num">Boxes</th>
              <th>Box grades</th>
              <th>Photos taken</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(visits ?? []).map((v) => (
              <tr key={v.visit} data-testid="visit-row" data-name={v.visit}>
                <td>{v.visit}</td>
                <td className="num">{v.photos}</td>
                <td className="num">{v.boxes}</td>
                <td>{grades(v.conditions)}</td>
                <td>{v.firstAt.slice(0, 10)}</td>
                <td>
                  <button
                    type="button"
                    className="primary"
                    data-testid="visit-open"
                    onClick={() => onOpenQueue({ building: building!.name, asset: asset.id, visit: v.visit })}
                  >
                    Open photos
                  </button>
                </td>
              </tr>
            ))}
            {visits && !visits.length && (
              <tr>
                <td className="muted">No visit photographed this asset.</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** The building names, for the Queue's Building filter. */
export function useBuildingNames(): string[] {
  const api = useApi();
  const [names, setNames] = useState<string[]>([]);
  useEffect(() => {
    let live = true;
    api
      .call('buildings', {})
      .then((b) => live && setNames(b.map((x) => x.name)))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [api]);
  return names;
}
