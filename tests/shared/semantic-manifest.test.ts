// manifest.semanticGuard: optional (manifests without it stay valid), checked field by field with the field named,
// and the schema file describes the same shape.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkManifest, type BundleManifest } from '../../src/shared/bundle';
import schema from '../../src/shared/bundle.schema.json';
import { buildBundles } from '../../scripts/models/bundle';
import { DEMO_SEMANTIC_THRESHOLD } from '../../scripts/models/semantic-guard';
import { GUARD_CATEGORIES } from '../../src/safety/guard/categories';

let root: string;
let demo: BundleManifest;
let plain: BundleManifest;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'psa-sg-manifest-'));
  buildBundles({ outDir: root });
  demo = JSON.parse(readFileSync(join(root, 'demo', 'manifest.json'), 'utf8'));
  plain = JSON.parse(readFileSync(join(root, 'demo-plain', 'manifest.json'), 'utf8'));
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const withSection = (sg: unknown) => ({ ...JSON.parse(JSON.stringify(demo)), semanticGuard: sg });

describe('manifest.semanticGuard', () => {
  it('the demo bundle carries one for every guard category; the plain demo has none, and both are valid', () => {
    expect(Object.keys(demo.semanticGuard!.concepts).sort()).toEqual([...GUARD_CATEGORIES].sort());
    expect(demo.semanticGuard!.pooling).toBe('eos');
    for (const c of Object.values(demo.semanticGuard!.concepts)) expect(c.threshold).toBe(DEMO_SEMANTIC_THRESHOLD);
    expect(checkManifest(demo)).toEqual([]);
    expect(plain.semanticGuard).toBeUndefined();
    expect(checkManifest(plain)).toEqual([]);
  });

  it('names the field at fault', () => {
    const problems = (sg: unknown) => checkManifest(withSection(sg)).join('\n');
    expect(problems('eos')).toMatch(/manifest\.semanticGuard must be an object/);
    expect(problems({ pooling: 'max', concepts: { Hate: { phrases: ['hate'], threshold: 0.5 } } })).toMatch(/semanticGuard\.pooling must be "eos" or "mean" \(got "max"\)/);
    expect(problems({ pooling: 'eos', concepts: {} })).toMatch(/semanticGuard\.concepts must map at least one category/);
    expect(problems({ pooling: 'mean', concepts: { Hate: { phrases: [], threshold: 0.5 } } })).toMatch(/concepts\.Hate\.phrases must be a non-empty list/);
    expect(problems({ pooling: 'mean', concepts: { Hate: { phrases: ['hate', ' '], threshold: 0.5 } } })).toMatch(/concepts\.Hate\.phrases must be a non-empty list of non-empty strings/);
    expect(problems({ pooling: 'mean', concepts: { Hate: { phrases: ['hate'], threshold: 1.5 } } })).toMatch(/concepts\.Hate\.threshold must be a cosine between -1 and 1 \(got 1\.5\)/);
    expect(problems({ pooling: 'mean', concepts: { Hate: { phrases: ['hate'] } } })).toMatch(/concepts\.Hate\.threshold/);
    expect(problems({ pooling: 'mean', concepts: { Hate: { phrases: ['hate'], threshold: -0.2 } } })).toBe('');
  });

  it('the schema file has the same optional section (not required; pooling enum; threshold range)', () => {
    expect(schema.required).not.toContain('semanticGuard');
    const sg = schema.properties.semanticGuard;
    expect(sg.required).toEqual(['pooling', 'concepts']);
    expect(sg.properties.pooling.enum).toEqual(['eos', 'mean']);
    const entry = sg.properties.concepts.additionalProperties;
    expect(entry.required).toEqual(['phrases', 'threshold']);
    expect([entry.properties.threshold.minimum, entry.properties.threshold.maximum]).toEqual([-1, 1]);
  });
});
