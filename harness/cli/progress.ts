/** A progress bar on stderr for long work (cli-progress); silent when stderr is not a terminal. */
import cliProgress from 'cli-progress';

export function progressBar(enabled = true): { update: (label: string, index: number, total: number) => void; stop: () => void } {
  if (!enabled || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { format: ' {bar} {value}/{total} {label}', stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(label, index, total) {
      if (!started) {
        bar.start(total, index, { label });
        started = true;
      }
      bar.update(index, { label: label.length > 70 ? `${label.slice(0, 67)}...` : label });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
