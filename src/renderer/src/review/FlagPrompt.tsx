/** Asks why a photo is flagged (required by the engine); Enter flags, Escape cancels. */
import { useState } from 'react';
import { Modal } from '../components/Modal';

const PRESETS = ['Blurry or dark', 'Wrong location', 'Duplicate photo', 'Not a shelf / asset', 'Needs a second look'];

interface Props {
  onFlag(reason: string): void;
  onClose(): void;
  title?: string;
}

export function FlagPrompt({ onFlag, onClose, title = 'Flag this photo' }: Props) {
  const [reason, setReason] = useState('');
  const submit = (r: string) => {
    if (r.trim()) onFlag(r.trim());
  };
  return (
    <Modal title={title} onClose={onClose} testId="flag-prompt" className="flag">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit(reason);
        }}
      >
        <label className="field">
          <span>Reason</span>
          <input
            autoFocus
            data-testid="flag-reason"
            value={reason}
            maxLength={500}
            onChange={(e) => setReason(e.target.value)}
            placeholder="Why does this photo need attention?"
          />
        </label>
        <div className="chips">
          {PRESETS.map((p) => (
            <button key={p} type="button" className="chip" onClick={() => submit(p)}>
              {p}
            </button>
          ))}
        </div>
        <div className="modal-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" data-testid="flag-submit" disabled={!reason.trim()}>
            Flag
          </button>
        </div>
      </form>
    </Modal>
  );
}
