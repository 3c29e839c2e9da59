/**
 * The label set behind the number keys 1–9, edited by the auditor: for this location, or the default
 * for every location without its own. Saved in the database (labelKeys / setLabelKeys); the keys keep
 * their meaning until changed here.
 */
import { useState } from 'react';
import type { LabelKeys } from '../../../shared/rpc';
import { errorMessage, useApi } from '../api';
import { Modal } from '../components/Modal';

interface Props {
  location: string | null;
  keys: LabelKeys;
  onSaved(keys: LabelKeys): void;
  onClose(): void;
}

export function LabelKeysEditor({ location, keys, onSaved, onClose }: Props) {
  const api = useApi();
  const [slots, setSlots] = useState<string[]>(() => Array.from({ length: 9 }, (_, i) => keys.labels[i] ?? ''));
  const [forLocation, setForLocation] = useState(keys.scope === 'location' && location !== null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const save = async (labels: string[]) => {
    setBusy(true);
    setError(null);
    try {
      onSaved(await api.call('setLabelKeys', { location: forLocation ? location : null, labels }));
      onClose();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const labels = slots.map((s) => s.trim()).filter(Boolean);

  return (
    <Modal title="Number keys" onClose={onClose} testId="label-keys-editor" className="label-keys-editor">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save(labels);
        }}
      >
        <ol className="label-key-slots">
          {slots.map((v, i) => (
            <li key={i}>
              <kbd>{i + 1}</kbd>
              <input
                value={v}
                data-testid="label-key-input"
                aria-label={`Label of key ${i + 1}`}
                onChange={(e) => setSlots((s) => s.map((x, j) => (j === i ? e.target.value : x)))}
              />
            </li>
          ))}
        </ol>
        {location !== null && (
          <label className="check">
            <input
              type="checkbox"
              checked={forLocation}
              data-testid="label-keys-for-location"
              onChange={(e) => setForLocation(e.target.checked)}
            />
            Only for {location} (otherwise: the default for every location without its own)
          </label>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <div className="modal-actions">
          {forLocation && keys.scope === 'location' && (
            <button type="button" disabled={busy} onClick={() => void save([])} data-testid="label-keys-reset">
              Use the default set here
            </button>
          )}
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy || (!forLocation && !labels.length)} data-testid="label-keys-save">
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}
