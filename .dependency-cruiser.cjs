// Import rules of docs/architecture.md, checked by `npm test` (test/architecture.test.ts) and by
// `npx depcruise src`. A rule that fails names the import that broke the picture.
const DOMAIN = '^src/(assent|auth|canonical|config|crypto|db|dossier|eula|gateway|keys|ledger|log|metrics|operations|pdf|problems|stats|timestamp|util|validation|verification|watermark|watermark-keys|webhooks|idempotency|llm-watermark|privacy|acceptance-sessions|subject-access|erasure)/';

module.exports = {
  forbidden: [
    {
      name: 'domain-not-above',
      comment: 'Domain modules never import the layers above them: http/, server/, cli/ or the composition root app/.',
      severity: 'error',
      from: { path: DOMAIN },
      to: { path: '^src/(http|server|cli|app)/' },
    },
    {
      name: 'app-not-above',
      comment: 'The composition root wires domain services; it does not know HTTP, the server process or the CLI.',
      severity: 'error',
      from: { path: '^src/app/' },
      to: { path: '^src/(http|server|cli)/' },
    },
    {
      name: 'http-not-server-or-cli',
      comment: 'http/ maps domain results to HTTP; the server process and the CLI sit above it.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/(server|cli)/' },
    },
    {
      name: 'cli-not-server',
      comment: 'The CLI opens its own context (app/); it never goes through the server process, and of http/ it uses only the presenters (for --json output).',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/(server/|http/(?!presenters/))' },
    },
    {
      name: 'only-repositories-query',
      comment: 'Only repositories (and the ledger appender, the database layer and migrations) use Kysely.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['(^|/|-)repository\\.ts$', '^src/db/', '^src/app/repositories\\.ts$', '^src/ledger/(appender|ledger)\\.ts$'] },
      to: { path: 'node_modules/kysely/' },
    },
    {
      name: 'pure-cores',
      comment: 'The algorithms and verifiers are pure: no database, no HTTP, no file system.',
      severity: 'error',
      from: { path: '^src/(watermark|stats|canonical|problems)/|^src/ledger/(verifier|format|checkpoint|events|merkle|note)\\.ts$|^src/assent/(standing|receipt)\\.ts$|^src/privacy/(commitment|fields)\\.ts$' },
      to: { path: '^src/(db/(?!schema\\.ts)|http/|server/|cli/|app/)|node_modules/(kysely|pg|express|@electric-sql)/|^(fs|node:fs|fs/promises|node:fs/promises)$' },
    },
    {
      name: 'nothing-imports-bin',
      comment: 'bin/ holds the entry points; nothing imports them.',
      severity: 'error',
      from: {},
      to: { path: '^src/bin/' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles between modules (test/architecture.test.ts also forbids cycles between folders).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    parser: 'swc',
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
