// Parses an AsyncAPI document with the reference parser and prints its diagnostics as JSON.
// Exit code 0 when the document has no error-level diagnostic.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const parser = new Parser();
const text = readFileSync(process.argv[2], "utf8");
const { document, diagnostics } = await parser.parse(text);
const errors = diagnostics.filter((d) => d.severity === 0);
console.log(JSON.stringify({
  parsed: document !== undefined,
  channels: document ? document.channels().all().map((c) => c.address()) : [],
  errors: errors.map((d) => `${d.path.join(".")}: ${d.message}`),
  warnings: diagnostics.filter((d) => d.severity === 1).map((d) => `${d.path.join(".")}: ${d.message}`),
}));
process.exit(errors.length === 0 && document !== undefined ? 0 : 1);
