// The home screen's form: who the picture is for, the prompt, one big Generate and Stop, progress. "More options"
// (negative prompt, seed, steps, sampler, guidance, size) stays folded, and is not there at all for a child-style profile
// unless the parent allowed it (profile.allowOptions). A picture is always generated for the active profile. Sizes
// are chosen, not typed: a shape (square, portrait, landscape) or a width and height among the model's own sizes
// (its size rule, src/shared/image-size.ts, which the engine applies too).
import { useEffect, type FormEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { allowedSides, sizePresets, SD15_SIZES, type SizeShape } from '../../shared/image-size';
import { formSize } from '../lib/form-size';
import { SCHEDULER_NAMES, type SchedulerName } from '../../shared/types';
import { useApp } from '../../state/store';
import { describeRefusal, formatWait } from '../lib/messages';
import { useDraft } from '../hooks/useDraft';
import { ProfileMessages } from '../shell/ProfileMessages';
import { ActiveProfile } from './ActiveProfile';

const SHAPE_TEXT: Record<SizeShape, string> = { square: 'Square', portrait: 'Portrait', landscape: 'Landscape' };

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
  const [prompt, setPrompt] = useDraft('prompt', 'a photo of a cat');
  const [negative, setNegative] = useDraft('negative', '');
  const [seed, setSeed] = useDraft('seed', 42);
  const [steps, setSteps] = useDraft('steps', 8);
  const [guidance, setGuidance] = useDraft('guidance', 7.5);
  const [scheduler, setScheduler] = useDraft<SchedulerName | ''>('scheduler', '');
  // The fields live in useDraft, not the component: they stay as typed while another screen is shown.
  // Unset: the model's own size (it changes with the model); set by a person or by "use these settings".
  const [size, setSize] = useDraft<{ width: number; height: number } | undefined>('size', undefined);
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
    setSize({ width: pending.width, height: pending.height });
    clearPending();
  }, [pending, clearPending]);
  const rule = bundle?.sizes ?? SD15_SIZES;
  const modelSize = bundle?.defaultSize ?? { width: 512, height: 512 };
  // A kept size this model does not make (another model's, from the gallery) gives way to the model's own, said so.
  const { width, height, misfit } = formSize(size, rule, modelSize);
  const setSide = (side: 'width' | 'height', v: number) => setSize({ width, height, [side]: v });
  const sides = allowedSides(rule);
  const presets = sizePresets(rule, modelSize);
  const shape = (Object.keys(presets) as SizeShape[]).find((k) => presets[k].width === width && presets[k].height === height) ?? '';
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
      width,
      height,
      previewEveryMs: 250,
    });
  };
  return (
    <form className="panel" onSubmit={submit} aria-label="Generate">
      <ActiveProfile />
      <ProfileMessages />
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
          <div className="row" role="group" aria-label="Picture size">
            <label>
              Shape
              <select
                data-testid="generate.shape"
                value={shape}
                onChange={(e) => {
                  const p = presets[e.target.value as SizeShape];
                  if (p) setSize(p);
                }}
              >
                {shape === '' && <option value="">custom</option>}
                {(Object.keys(presets) as SizeShape[]).map((k) => (
                  <option key={k} value={k}>
                    {SHAPE_TEXT[k]} ({presets[k].width}×{presets[k].height})
                  </option>
                ))}
              </select>
            </label>
            <SideSelect label="Width" testId="generate.width" value={width} sides={sides} onChange={(v) => setSide('width', v)} />
            <SideSelect label="Height" testId="generate.height" value={height} sides={sides} onChange={(v) => setSide('height', v)} />
          </div>
          {misfit && (
            <p className="hint" data-testid="generate.size.note" role="status">
              {misfit.width}×{misfit.height} is not a size this model makes (it takes sides of {rule.min} to {rule.max} pixels in steps of {rule.step}); using {width}×{height}.
            </p>
          )}
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

/** One side of the picture: a select of the sides the model makes. */
function SideSelect(p: { label: string; testId: string; value: number; sides: readonly number[]; onChange: (v: number) => void }) {
  return (
    <label>
      {p.label}
      <select data-testid={p.testId} value={p.value} onChange={(e) => p.onChange(Number(e.target.value))}>
        {p.sides.map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </select>
    </label>
  );
}
