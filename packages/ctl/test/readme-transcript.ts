// The README's CLI transcript as data: each `$ npx ctl …` command with the output and exit code
// it shows, and a normalization that keeps the shape of an output but not its ids, addresses and
// numbers, so that the transcript can be replayed against any cluster.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../client/test/metad-cluster.ts";

export interface TranscriptStep { args: string[]; output: string; exitCode: number }

export function readmeTranscript(): TranscriptStep[] {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const section = readme.split("<!-- section:cli -->")[1]?.split("<!-- /section:cli -->")[0] ?? "";
  const block = /```console\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error("no ```console block in the README's CLI section");
  const steps: TranscriptStep[] = [];
  for (const line of block[1].split("\n")) {
    if (line.startsWith("$ npx ctl ")) steps.push({ args: line.slice("$ npx ctl ".length).split(/\s+/), output: "", exitCode: 0 });
    else if (line === "$ echo $?") steps[steps.length - 1].exitCode = -1; // the next line is the code
    else if (steps.length > 0 && steps[steps.length - 1].exitCode === -1) steps[steps.length - 1].exitCode = Number(line);
    else if (steps.length > 0 && line !== "") steps[steps.length - 1].output += `${line}\n`;
  }
  return steps;
}

/** Ids, addresses, node names and numbers become placeholders; runs of blanks and leader marks go. */
export function shapeOf(text: string): string {
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>")
    .replace(/http:\/\/127\.0\.0\.1:\d+/g, "<address>")
    .replace(/\bn\d+\b/g, "<node>")
    .replace(/\d+/g, "N")
    .replace(/[ \t]+/g, " ")
    .replace(/ \*( |$)/gm, "$1")
    .replace(/^ +| +$/gm, "")
    .trim();
}
