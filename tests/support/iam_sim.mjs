// Offline IAM evaluation for tests/support/iam.py.
//
// stdin:  a JSON array of queries
//         {principal, policies: [policyDoc...], resourcePolicy?: doc, action, resource,
//          account, context?: {key: string | string[]}}
// stdout: a JSON array with one entry per query, in order: the simulator's overallResult
//         ("Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied"), or "ERROR <json>" when the
//         simulator rejected the request (unknown action, malformed ARN, bad context key...).
// Any failure outside a single query (bad input, import failure) exits non-zero.
import { runSimulation } from '@cloud-copilot/iam-simulate'

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

async function evaluate(query) {
  const { principal, policies, resourcePolicy, action, resource, account, context } = query
  const simulation = {
    request: {
      principal,
      action,
      resource: { resource, accountId: account },
      contextVariables: context ?? {},
    },
    identityPolicies: (policies ?? []).map((policy, i) => ({ name: `p${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }
  if (resourcePolicy) simulation.resourcePolicy = resourcePolicy
  try {
    const result = await runSimulation(simulation, {})
    if (result.resultType === 'error') return `ERROR ${JSON.stringify(result.errors)}`
    return result.overallResult
  } catch (error) {
    return `ERROR ${error?.stack ?? String(error)}`
  }
}

const queries = JSON.parse(await readStdin())
if (!Array.isArray(queries)) throw new Error('expected a JSON array of queries on stdin')
const results = []
for (const query of queries) results.push(await evaluate(query))
process.stdout.write(JSON.stringify(results))
