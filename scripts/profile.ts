// `npm run profile -- <command> …`: profile tools on Node, the same code as the app.
//   policy --users FILE.csv [--out FILE.csv]      PSA's users.csv columns → Banned/Allowed_Categories + Reasons
//   embed --encoder DIR --profile FILE.json|PRESET --out FILE.npy [--bundle DIR --tokens FILE.npy]
// Usage errors print one line and exit 2; failures print one line and exit 1.

const USAGE = `usage: npm run profile -- policy --users FILE.csv [--out FILE.csv]
       npm run profile -- embed --encoder DIR --profile FILE.json|PRESET --out FILE.npy [--bundle DIR --tokens FILE.npy]`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'policy') return (await import('./profile/policy')).runPolicy(rest);
  if (cmd === 'embed') return (await import('./profile/embed')).runEmbed(rest);
  if (cmd === undefined || cmd === '--help' || cmd === 'help') {
    console.log(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  console.error(`unknown command "${cmd}"; use policy or embed`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`error: ${(e as Error).message.split('\n')[0]}`);
    process.exit(1);
  },
);
