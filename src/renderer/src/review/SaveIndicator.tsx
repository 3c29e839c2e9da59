/** Saved / saving / error: every edit's fate is visible. */
import type { SaveState } from './useEdits';

export function SaveIndicator({ save }: { save: SaveState }) {
  const text =
    save.state === 'saving'
      ? 'Saving…'
      : save.state === 'offline'
        ? `Not saved yet: no connection (${save.n} edit${save.n === 1 ? '' : 's'} will be sent when it is back; keep this page open)`
        : save.state === 'saved'
          ? 'Saved'
          : save.state === 'error'
            ? `Not saved: ${save.message} (photo reloaded)`
            : 'No changes';
  return (
    <span
      className={`save save-${save.state}`}
      data-testid="save-status"
      data-state={save.state}
      role="status"
      aria-live="polite"
      title={text}
    >
      <span className="save-dot" aria-hidden="true" />
      {text}
    </span>
  );
}
