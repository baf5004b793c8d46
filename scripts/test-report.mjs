// Reads Vitest JSON reports (--reporter=json) and prints, per report, the real counts and every
// failed test with the first lines of its failure, so that the end of a CI log names what failed.
// Usage: node scripts/test-report.mjs .tmp/vitest-node20.json [...]; the last line is the total
// "N passed, M failed", and the exit code is 1 when anything failed or a report is missing.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

let passed = 0;
let failed = 0;
const failures = [];
for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    console.log(`${file}: no readable report (${error.message})`);
    failed += 1;
    failures.push(`${file}: the run wrote no report`);
    continue;
  }
  // A file that fails to load has no assertion results but counts as a failure.
  const brokenFiles = report.testResults.filter((t) => t.status === 'failed' && t.assertionResults.length === 0);
  const p = report.numPassedTests;
  const f = report.numFailedTests + brokenFiles.length;
  passed += p;
  failed += f;
  console.log(`${file}: ${p} passed, ${f} failed`);
  for (const suite of report.testResults) {
    const name = relative(process.cwd(), suite.name);
    if (suite.assertionResults.length === 0 && suite.status === 'failed') {
      failures.push(`${file} ${name}: ${firstLines(suite.message)}`);
    }
    for (const test of suite.assertionResults) {
      if (test.status !== 'failed') continue;
      failures.push(`${file} ${name} > ${test.fullName}: ${firstLines(test.failureMessages.join('\n'))}`);
    }
  }
}
if (failures.length > 0) {
  console.log('\nfailed:');
  for (const line of failures) console.log(`- ${line}`);
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;

function firstLines(text = '') {
  return text.split('\n').slice(0, 6).join('\n    ').slice(0, 1500);
}
