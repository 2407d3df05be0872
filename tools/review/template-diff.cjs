#!/usr/bin/env node
// Structured CloudFormation template diff with the CDK's own engine (@aws-cdk/cloudformation-diff),
// offline: no AWS call, no synth.
//
//   node tools/review/template-diff.cjs OLD.json NEW.json      one pair; prints one diff object
//   node tools/review/template-diff.cjs -  < pairs.json        many pairs in one process:
//        stdin  {"<name>": {"old": <template>, "new": <template>}, ...}
//        stdout {"<name>": <diff object>, ...}
//
// An absent template is `{}` (a stack that does not exist yet, or any more).
// A diff object:
//   { differenceCount, isEmpty, permissionsBroadened, permissionsAnyChanges,
//     resources: [{ logicalId, type, oldType, newType, changeImpact, isAddition, isRemoval,
//                   oldDeletionPolicy, oldUpdateReplacePolicy,
//                   replacementCauses: [{ property, changeImpact }],   // WILL_/MAY_REPLACE only
//                   changes: [{ kind: "Property"|"Other", name, changeImpact }] }],
//     iamStatements: string[][],       // iamChanges.summarizeStatements(): header row first
//     iamManagedPolicies: string[][],  // iamChanges.summarizeManagedPolicies()
//     securityGroups: string[][],      // securityGroupChanges.summarize()
//     outputs: [{ name, change }], parameters: [{ name, change }] }  // change: added|removed|modified
// Exit 0 on success; 2 with one `error: ...` line on stderr for bad input.
'use strict';

process.env.FORCE_COLOR = '0'; // the summaries colour their cells with chalk on a TTY
const fs = require('fs');
const { fullDiff } = require('@aws-cdk/cloudformation-diff');

// Belt and braces: strip any ANSI colour that still got through.
const ANSI = /\u001b\[[0-9;]*m/g;
const plain = (rows) => rows.map((row) => row.map((cell) => String(cell ?? '').replace(ANSI, '')));

function kindOfChange(diff) {
  if (diff.isAddition) return 'added';
  if (diff.isRemoval) return 'removed';
  return 'modified';
}

function collection(coll) {
  const out = [];
  if (!coll) return out;
  coll.forEachDifference((name, diff) => out.push({ name, change: kindOfChange(diff) }));
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function describe(oldTemplate, newTemplate) {
  const diff = fullDiff(oldTemplate || {}, newTemplate || {});
  const resources = [];
  diff.resources.forEachDifference((logicalId, change) => {
    const changes = [];
    const replacementCauses = [];
    change.forEachDifference((kind, name, value) => {
      const impact = value.changeImpact ?? null;
      changes.push({ kind, name, changeImpact: impact });
      if (impact === 'WILL_REPLACE' || impact === 'MAY_REPLACE') {
        replacementCauses.push({ property: name, changeImpact: impact });
      }
    });
    const oldValue = change.oldValue || {};
    resources.push({
      logicalId,
      type: change.newResourceType ?? change.oldResourceType ?? null,
      oldType: change.oldResourceType ?? null,
      newType: change.newResourceType ?? null,
      changeImpact: change.changeImpact,
      isAddition: change.isAddition,
      isRemoval: change.isRemoval,
      oldDeletionPolicy: oldValue.DeletionPolicy ?? null,
      oldUpdateReplacePolicy: oldValue.UpdateReplacePolicy ?? null,
      replacementCauses,
      changes,
    });
  });
  resources.sort((a, b) => (a.logicalId < b.logicalId ? -1 : a.logicalId > b.logicalId ? 1 : 0));
  return {
    differenceCount: diff.differenceCount,
    isEmpty: diff.isEmpty,
    permissionsBroadened: diff.permissionsBroadened,
    permissionsAnyChanges: diff.permissionsAnyChanges,
    resources,
    iamStatements: plain(diff.iamChanges.summarizeStatements()),
    iamManagedPolicies: plain(diff.iamChanges.summarizeManagedPolicies()),
    securityGroups: plain(diff.securityGroupChanges.summarize()),
    outputs: collection(diff.outputs),
    parameters: collection(diff.parameters),
  };
}

function readJson(path, text) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not JSON (${error.message})`);
  }
}

function main(argv) {
  if (argv.length === 1 && argv[0] === '-') {
    const pairs = readJson('stdin', fs.readFileSync(0, 'utf8'));
    const out = {};
    for (const name of Object.keys(pairs).sort()) {
      out[name] = describe(pairs[name].old, pairs[name].new);
    }
    return out;
  }
  if (argv.length === 2) {
    const [oldTemplate, newTemplate] = argv.map((path) => readJson(path, fs.readFileSync(path, 'utf8')));
    return describe(oldTemplate, newTemplate);
  }
  throw new Error('usage: template-diff.cjs OLD.json NEW.json | template-diff.cjs - < pairs.json');
}

try {
  process.stdout.write(JSON.stringify(main(process.argv.slice(2))) + '\n');
} catch (error) {
  process.stderr.write(`error: ${error.message}\n`);
  process.exit(2);
}
