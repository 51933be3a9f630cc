// Which HTML pages a build contains. The app page always; the test harness pages (harness.html: the model checks;
// engine-harness.html: the engine with no profile, guard or image stage; guard-harness.html: the prompt
// classifier's scores in a page and a worker) only when PSA_HARNESS=1, as
// `npm test` builds. A production build must not ship them: a child who types their address would get pictures
// with none of the profile's safety.
export function buildInputs(env: Record<string, string | undefined>): Record<string, string> {
  return { main: 'index.html', ...(env.PSA_HARNESS === '1' ? { harness: 'harness.html', engine: 'engine-harness.html', guard: 'guard-harness.html' } : {}) };
}
