#!/usr/bin/env node
// Builds what the package ships into dist/ (run by `npm pack` and `npm publish` through `prepack`):
//   1. tsc -p tsconfig.build.json: JavaScript + .d.ts of every .ts file under runtime/ and toolkit/.
//   2. Every other file under those folders (thread entry .js files, static pages, Python host files, ...) is
//      copied to the same relative place, so code that finds them through import.meta.url finds them in dist/ too.
//      A .js file that imports a sibling TypeScript module (`await import("./attempt-worker.ts")`, how thread
//      entries load their worker from source) gets that specifier pointed at the compiled `.js`, which is what
//      tsc's rewriteRelativeImportExtensions does for .ts files; nothing else in a copied file changes.
// The rule is generic on purpose: a new asset under runtime/ or toolkit/ is packaged without editing this file.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const outDir = join(root, "dist");
const sourceDirs = ["runtime", "toolkit"];
// What tsc turns into .js + .d.ts; a hand-written declaration file (.d.ts) is not compiled, so it is copied.
const compiledExtension = /(?<!\.d)\.(ts|mts|cts)$/;

rmSync(outDir, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const compile = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: ["ignore", 2, 2] });
if (compile.status !== 0) {
  console.error("build-package: tsc failed; dist/ is incomplete, fix the errors above and run `npm run build` again");
  process.exit(1);
}

let copied = 0;
for (const dir of sourceDirs) {
  for (const file of walk(join(root, dir))) {
    if (compiledExtension.test(file)) continue;
    const target = join(outDir, relative(root, file));
    mkdirSync(dirname(target), { recursive: true });
    if (/\.(js|mjs)$/.test(file)) writeFileSync(target, pointTypeScriptImportsAtJavaScript(file));
    else copyFileSync(file, target);
    copied += 1;
  }
}
// stderr, so `npm pack --json` keeps a clean stdout.
console.error(`build-package: compiled ${sourceDirs.join(", ")} into dist/ and copied ${copied} other files`);

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && entry.name !== "__pycache__") yield* walk(path);
    } else if (entry.isFile()) {
      yield path;
    }
  }
}

/** `"./x.ts"` -> `"./x.js"` for relative specifiers naming a TypeScript file that exists beside the source. */
function pointTypeScriptImportsAtJavaScript(file) {
  const text = readFileSync(file, "utf8");
  return text.replace(/(["'])(\.\.?\/[^"'\n]+)\.(ts|mts)\1/g, (whole, quote, stem, extension) => {
    if (!existsSync(resolve(dirname(file), `${stem}.${extension}`))) return whole;
    return `${quote}${stem}.${extension === "mts" ? "mjs" : "js"}${quote}`;
  });
}
