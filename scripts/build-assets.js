// Builds the front-end assets into app/static/dist (not committed):
// compiles app/assets/app.scss with GOV.UK Frontend, copies GOV.UK Frontend's JavaScript
// and its images. Run with `npm run build`.
const fs = require("node:fs");
const path = require("node:path");
const sass = require("sass");

const root = path.resolve(__dirname, "..");
const govuk = path.join(root, "node_modules", "govuk-frontend", "dist", "govuk");
const dist = path.join(root, "app", "static", "dist");
// Build beside the live folder and swap it in at the end, so a running server (or browser test)
// never sees a half-built or missing stylesheet.
const out = `${dist}.building-${process.pid}`;

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(path.join(out, "assets"), { recursive: true });

const result = sass.compile(path.join(root, "app", "assets", "app.scss"), {
  importers: [new sass.NodePackageImporter(root)],
  style: "compressed",
  quietDeps: true,
  silenceDeprecations: ["import"],
});
fs.writeFileSync(path.join(out, "app.css"), result.css);

for (const file of ["govuk-frontend.min.js", "govuk-frontend.min.js.map"]) {
  fs.copyFileSync(path.join(govuk, file), path.join(out, file));
}
// Images only: no GDS Transport fonts, which are for GOV.UK services.
fs.cpSync(path.join(govuk, "assets", "images"), path.join(out, "assets", "images"), { recursive: true });
const old = `${dist}.old-${process.pid}`;
if (fs.existsSync(dist)) fs.renameSync(dist, old);
fs.renameSync(out, dist);
fs.rmSync(old, { recursive: true, force: true });
console.log(`Built ${path.relative(root, dist)}: app.css ${result.css.length} bytes`);
