// The home screen's form: who the picture is for, the prompt, one big Generate and Stop, progress. "More options"
// (negative prompt, seed, steps, sampler, guidance) stays folded, and is not there at all for a child-style profile
// unless the parent allowed it (profile.allowOptions). A picture is always generated for the active profile.
import { useEffect, useState, type FormEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { SCHEDULER_NAMES, type SchedulerName } from '../../shared/types';
import { useApp } from '../../state/store';
import { describeRefusal, formatWait } from '../messages';
import { ActiveProfile } from './profiles/ActiveProfile';

/** "about 12 s left", from the steps done so far (the first steps include warm-up, so this errs long). */
function timeLeft(step: { step: number; total: number; elapsedMs: number }): string {
  const left = (step.elapsedMs / step.step) * (step.total - step.step);
  return left < 1000 ? 'almost done' : `about ${formatWait(left)} left`;
}

export function GenerateForm() {
  const { bundle, status, generateForActive, cancel, step, embeddingStatus, refusal, profile } = useApp(
    useShallow((s) => ({
      profile: s.profiles.find((p) => p.id === s.activeProfileId),
      bundle: s.bundle,
      status: s.status,
      generateForActive: s.generateForActive,
      cancel: s.cancel,
      step: s.step,
      embeddingStatus: s.embedding.status,
      refusal: s.generationRefusal,
    })),
  );
  const [prompt, setPrompt] = useState('a photo of a cat');
  const [negative, setNegative] = useState('');
  const [seed, setSeed] = useState(42);
  const [steps, setSteps] = useState(8);
  const [guidance, setGuidance] = useState(7.5);
  const [scheduler, setScheduler] = useState<SchedulerName | ''>('');
  // "Use these settings" in the gallery: take them once, then clear them (a later change of the fields is the person's).
  const pending = useApp((s) => s.pendingSettings);
  const clearPending = useApp((s) => s.clearPendingSettings);
  useEffect(() => {
    if (!pending) return;
    setPrompt(pending.prompt);
    setNegative(pending.negativePrompt);
    setSeed(pending.seed);
    setSteps(pending.steps);
    setGuidance(pending.guidance);
    setScheduler(pending.scheduler);
    clearPending();
  }, [pending, clearPending]);
  const optionsShown = !profile || profile.explanationStyle !== 'child' || !!profile.allowOptions;
  const generating = status === 'generating';
  // While the profile's embedding is computed the engine is busy with it; the picture waits for it anyway.
  const busy = generating || embeddingStatus === 'computing';
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!bundle) return;
    void generateForActive({
      prompt,
      negativePrompt: negative || undefined,
      seed,
      steps,
      guidance,
      scheduler: scheduler || bundle.defaultScheduler,
      width: bundle.defaultSize.width,
      height: bundle.defaultSize.height,
      previewEveryMs: 250,
    });
  };
  return (
    <form className="panel" onSubmit={submit} aria-label="Generate">
      <ActiveProfile />
      <label>
        Describe the picture
        <textarea data-testid="generate.prompt" value={prompt} onChange={(e) => setPrompt(e.target.value)} rows={2} />
      </label>
      {optionsShown && (
        <details className="options" data-testid="generate.options">
          <summary>More options</summary>
          <label>
            Leave out (negative prompt)
            <input data-testid="generate.negative" value={negative} onChange={(e) => setNegative(e.target.value)} />
          </label>
          <div className="row">
            <label>
              Seed <input data-testid="generate.seed" type="number" min={0} value={seed} onChange={(e) => setSeed(Number(e.target.value))} />
            </label>
            <label>
              Steps <input data-testid="generate.steps" type="number" min={1} max={150} value={steps} onChange={(e) => setSteps(Number(e.target.value))} />
            </label>
            <label>
              Guidance <input data-testid="generate.guidance" type="number" step={0.5} min={0} value={guidance} onChange={(e) => setGuidance(Number(e.target.value))} />
            </label>
            <label>
              Sampler
              <select data-testid="generate.scheduler" value={scheduler} onChange={(e) => setScheduler(e.target.value as SchedulerName | '')}>
                <option value="">model default{bundle ? ` (${bundle.defaultScheduler})` : ''}</option>
                {SCHEDULER_NAMES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </label>
          </div>
        </details>
      )}
      <div className="row">
        <button data-testid="generate.submit" className="primary" type="submit" disabled={!bundle || busy}>
          Generate
        </button>
        <button data-testid="generate.cancel" type="button" onClick={cancel} disabled={!generating}>
          Stop
        </button>
        {generating && (
          <progress data-testid="generate.progress" max={step?.total ?? 1} value={step?.step ?? 0}>
            {step ? `${step.step}/${step.total}` : ''}
          </progress>
        )}
        {generating && step && step.step > 0 && (
          <span className="hint" data-testid="generate.eta" role="status">
            step {step.step} of {step.total} · {timeLeft(step)}
          </span>
        )}
      </div>
      {refusal && (
        <p role="alert" className="message error" data-testid="generate.refused" data-code={refusal.code} data-missing={refusal.code === 'MODEL_LACKS_PARTS' ? refusal.missing.join(' ') : ''}>
          {describeRefusal(refusal)}
        </p>
      )}
    </form>
  );
}
