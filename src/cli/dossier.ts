import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { verifyDossier } from '../dossier/verify.js';
import { CliError, printJson, readTrustedKeys, withContext } from './common.js';

export function registerDossierCommands(program: Command): void {
  const dossier = program.command('dossier').description('signed PDF evidence dossiers');

  dossier
    .command('issue')
    .description('issue a dossier for a subject and write the PDF and its detached signature')
    .requiredOption('--subject <subject>', 'the subject (account id)')
    .requiredOption('--case <ref>', 'case reference')
    .requiredOption('--requested-by <name>', 'who requests the dossier')
    .requiredOption('--counsel <name>', 'counsel the dossier is prepared for')
    .requiredOption('--firm <firm>', 'counsel\'s firm')
    .option('--verification <id...>', 'verification ids to include (default: all of the subject\'s)')
    .option('--out <file>', 'where to write the PDF (default dossier-<id>.pdf); the signature goes to <file>.sig')
    .option('--json', 'machine-readable output')
    .action(async (o: { subject: string; case: string; requestedBy: string; counsel: string; firm: string; verification?: string[]; out?: string; json?: boolean }) => {
      // The services load only to issue: `dossier verify` needs none of them.
      const [{ buildServices }, { issuedDossierJson }] = await Promise.all([import('../app/services.js'), import('../http/presenters/dossiers.js')]);
      await withContext(async (ctx) => {
        const s = buildServices(ctx);
        try {
          const issued = await s.dossiers.issue(
            { subject: o.subject, case_ref: o.case, verification_ids: o.verification, requested_by: o.requestedBy, prepared_for: { name: o.counsel, firm: o.firm } },
            { keyId: 'cli', name: `command line (${process.env.USER ?? 'unknown user'})` },
          );
          const meta = issuedDossierJson(issued);
          const { pdf, signature } = await s.dossiers.pdf(meta.id);
          const out = o.out ?? `dossier-${String(meta.id)}.pdf`;
          writeFileSync(out, pdf, { flag: 'wx' });
          writeFileSync(`${out}.sig`, signature, { flag: 'wx' });
          if (o.json) printJson({ ...meta, file: out, signature_file: `${out}.sig` });
          else process.stdout.write(`issued dossier ${String(meta.id)} (${String(meta.pages)} pages) -> ${out}\nSHA-256 ${String(meta.pdf_sha256)}\n`);
        } finally {
          await s.close();
        }
      });
    });

  dossier
    .command('verify')
    .description('verify a dossier offline: PDF signature, evidence bundle, cited entries and their Merkle proofs to the signed checkpoint, timestamps; exit 0 or 1')
    .argument('<file>', 'the dossier PDF')
    .option('--signature <file>', 'the detached Ed25519 signature (dossier.pdf.sig)')
    .option('--public-key <key>', 'trusted Ed25519 key: PEM file, hex/base64 key, or a saved keys.json')
    .option('--tsa-ca <file>', 'root certificate(s) (PEM) of the time-stamping authority: check each timestamp\'s certificate chain')
    .option('--json', 'machine-readable output')
    .action(async (file: string, o: { signature?: string; publicKey?: string; tsaCa?: string; json?: boolean }) => {
      let pdf: Buffer;
      try {
        pdf = readFileSync(file);
      } catch (e) {
        throw new CliError(`cannot read ${file}: ${(e as Error).message}`, 1);
      }
      const signature = o.signature ? readFileSync(o.signature) : undefined;
      const trustedKeys = o.publicKey ? readTrustedKeys(o.publicKey) : undefined;
      let tsaCaPem: string | undefined;
      if (o.tsaCa) {
        try {
          tsaCaPem = readFileSync(o.tsaCa, 'utf8');
        } catch (e) {
          throw new CliError(`cannot read ${o.tsaCa}: ${(e as Error).message}`, 1);
        }
      }
      const r = await verifyDossier(pdf, { ...(signature ? { signature } : {}), ...(trustedKeys ? { trustedKeys } : {}), ...(tsaCaPem ? { tsaCaPem } : {}) });
      if (o.json) printJson(r);
      else {
        for (const c of r.checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}\n`);
        process.stdout.write(r.ok ? `VALID: dossier ${r.dossierId} (case ${r.caseRef}, subject ${r.subject})${r.keyTrusted ? '' : ' — embedded key, not independently trusted'}\n` : 'INVALID\n');
      }
      if (!r.ok) process.exitCode = 1;
    });
}
