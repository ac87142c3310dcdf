// Validates Kubernetes manifests against the API's OpenAPI schemas, offline:
// the schemas come compiled in the kubernetes-models package (pinned in
// package-lock.json), so nothing is downloaded at check time.
//
//   node validate.mjs FILE...
//
// Each YAML document is checked as its apiVersion and kind say (types,
// required fields, enums, formats). On success it prints every document as
// one JSON array, for further checks by the caller; on failure it names the
// file, document and field, and exits 1.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const docs = [];
let failed = false;
for (const file of process.argv.slice(2)) {
  const parsed = parseAllDocuments(readFileSync(file, "utf8"));
  for (const [i, doc] of parsed.entries()) {
    const where = `${file} document ${i + 1}`;
    if (doc.errors.length > 0) {
      console.error(`${where}: YAML: ${doc.errors[0].message}`);
      failed = true;
      continue;
    }
    const obj = doc.toJS();
    if (obj === null) continue;
    const { apiVersion, kind } = obj;
    if (typeof apiVersion !== "string" || typeof kind !== "string") {
      console.error(`${where}: no apiVersion or kind`);
      failed = true;
      continue;
    }
    // "apps/v1" → kubernetes-models/apps/v1/Deployment; core "v1" → v1/Service.
    const path = `kubernetes-models/${apiVersion}/${kind}`;
    let Model;
    try {
      Model = (await import(path))[kind];
    } catch {
      console.error(`${where}: unknown apiVersion/kind ${apiVersion}/${kind}`);
      failed = true;
      continue;
    }
    try {
      new Model(obj).validate();
    } catch (e) {
      console.error(`${where} (${kind} ${obj.metadata?.name}): ${e.message}`);
      failed = true;
      continue;
    }
    docs.push(obj);
  }
}
if (failed) process.exit(1);
console.log(JSON.stringify(docs));
