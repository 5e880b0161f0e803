// Decodes every line of `fixture-node events` with Anchor's own TypeScript coders
// (BorshEventCoder / BorshInstructionCoder of @coral-xyz/anchor 0.30.1, what a DFPN client uses)
// reading our committed IDL files, and compares each decoded value with the line's ground truth.
// An independent decoder: nothing of ours decodes here but the IDL files. Exits non-zero on any
// line it cannot decode or that decodes to other values, or when an event kind of an IDL never
// appeared.
//
// usage: node scripts/idl-anchor-check.cjs <idl dir> <events.jsonl>   (NODE_PATH: where @coral-xyz/anchor is)
"use strict";
const fs = require("fs");
const path = require("path");
const { BorshEventCoder, BorshInstructionCoder } = require("@coral-xyz/anchor");

const [idlDir, eventsFile] = process.argv.slice(2);
if (!idlDir || !eventsFile) {
  console.error("usage: idl-anchor-check.cjs <idl dir> <events.jsonl>");
  process.exit(2);
}

const coders = {};
for (const file of fs.readdirSync(idlDir).filter((f) => f.endsWith(".json"))) {
  const idl = JSON.parse(fs.readFileSync(path.join(idlDir, file), "utf8"));
  coders[idl.metadata.name] = {
    events: new BorshEventCoder(idl),
    instructions: idl.instructions.length ? new BorshInstructionCoder(idl) : null,
    names: new Set([...idl.events.map((e) => e.name), ...idl.instructions.map((i) => camel(i.name))]),
    seen: new Set(),
  };
}

function camel(snake) {
  return snake.split("_").map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join("");
}

// Anchor's values in the ground truth's JSON forms: keys without case or underscores, public
// keys base58, integers as decimal strings, byte arrays hex, enums by variant name (compared
// without case or underscores: the truth spells DFPN variants `Open`, the real Psy ones
// `PENDING` and `USER_ENDCAP`, Anchor by the Rust variant `Pending`, `UserEndCap`).
function norm(value) {
  if (value === null || value === undefined) return null;
  if (typeof value === "boolean") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (typeof value === "string") return value;
  if (typeof value.toBase58 === "function") return value.toBase58();
  if (typeof value.toArrayLike === "function") return value.toString(10);
  if (Array.isArray(value) || Buffer.isBuffer(value) || value instanceof Uint8Array) {
    const items = Array.from(value);
    if (items.every((x) => typeof x === "number")) return Buffer.from(items).toString("hex");
    return items.map(norm);
  }
  const keys = Object.keys(value);
  if (keys.length === 1 && value[keys[0]] && typeof value[keys[0]] === "object" && Object.keys(value[keys[0]]).length === 0) {
    return { [ENUM]: enumKey(keys[0]) }; // a unit enum variant
  }
  const out = {};
  for (const key of keys) out[key.replace(/_/g, "").toLowerCase()] = norm(value[key]);
  return out;
}

const ENUM = "$enum";

function enumKey(name) {
  return name.replace(/_/g, "").toLowerCase();
}

// Whether Anchor's normalized value equals the truth's.
function same(got, want) {
  if (got && typeof got === "object" && ENUM in got) return typeof want === "string" && enumKey(want) === got[ENUM];
  if (Array.isArray(got)) return Array.isArray(want) && got.length === want.length && got.every((g, i) => same(g, want[i]));
  if (got && typeof got === "object") {
    if (!want || typeof want !== "object" || Array.isArray(want)) return false;
    const keys = Object.keys(got);
    return keys.length === Object.keys(want).length && keys.every((k) => same(got[k], want[k]));
  }
  return got === want;
}

function truthNorm(value) {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  if (Array.isArray(value)) return value.map(truthNorm);
  const out = {};
  for (const key of Object.keys(value)) out[key.replace(/_/g, "").toLowerCase()] = truthNorm(value[key]);
  return out;
}

let checked = 0;
const failures = [];
for (const line of fs.readFileSync(eventsFile, "utf8").split("\n")) {
  if (!line.trim()) continue;
  const entry = JSON.parse(line);
  const coder = coders[entry.program];
  if (!coder) {
    failures.push(`line ${entry.n}: no IDL for program ${entry.program}`);
    continue;
  }
  let decoded;
  if (entry.kind === "instruction") {
    const ix = coder.instructions && coder.instructions.decode(Buffer.from(entry.payload, "base64"));
    // An instruction's ground truth holds its accounts; Anchor decodes the arguments.
    decoded = ix && { name: camel(ix.name), data: ix.data };
  } else {
    decoded = coder.events.decode(entry.payload);
  }
  if (!decoded) {
    failures.push(`line ${entry.n}: ${entry.program} ${entry.name} not decoded by Anchor`);
    continue;
  }
  coder.seen.add(decoded.name);
  if (decoded.name !== entry.name) {
    failures.push(`line ${entry.n}: Anchor names it ${decoded.name}, the truth ${entry.name}`);
    continue;
  }
  const got = norm(decoded.data);
  const want = truthNorm(entry.truth.fields);
  for (const key of Object.keys(got)) {
    if (!same(got[key], want[key])) {
      failures.push(`line ${entry.n}: ${entry.name}.${key}: Anchor ${JSON.stringify(got[key])}, truth ${JSON.stringify(want[key])}`);
    }
  }
  if (entry.kind !== "instruction" && Object.keys(got).length !== Object.keys(want).length) {
    failures.push(`line ${entry.n}: ${entry.name}: ${Object.keys(got).length} fields decoded, ${Object.keys(want).length} in the truth`);
  }
  checked += 1;
}
for (const [program, coder] of Object.entries(coders)) {
  const missing = [...coder.names].filter((name) => !coder.seen.has(name));
  if (missing.length) failures.push(`${program}: never seen in the events: ${missing.join(", ")}`);
  console.log(`${program}: ${coder.seen.size} of ${coder.names.size} kinds decoded by Anchor`);
}
if (failures.length) {
  console.error(failures.slice(0, 20).join("\n"));
  console.error(`idl-anchor-check FAILED: ${failures.length} problems over ${checked} lines`);
  process.exit(1);
}
console.log(`idl-anchor-check: ${checked} lines decoded by @coral-xyz/anchor equal the ground truth`);
