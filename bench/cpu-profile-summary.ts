import { readFileSync } from "node:fs";

/** The parts of a V8 `.cpuprofile` (written by `node --cpu-prof`) the summary reads. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }>;
  startTime: number;
  endTime: number;
  samples?: number[];
}

/** One line of the summary: where CPU time went, self time only. */
export interface ProfileEntry {
  name: string;
  /** Share of the profile's non-idle samples, in percent. */
  percent: number;
}

/** Self time of a CPU profile, by function and by package/area, idle excluded, largest first. */
export interface ProfileSummary {
  /** Non-idle share of the wall time the profile covers, in percent. */
  busyPercent: number;
  topFunctions: ProfileEntry[];
  topAreas: ProfileEntry[];
}

/** Reads a `.cpuprofile` and sums self time (sample hits) per function and per area (package or runtime dir). */
export function summarizeCpuProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let busy = 0;
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") continue;
    busy += hits;
    const where = url ? `${shortPath(url)}:${lineNumber + 1}` : "";
    const name = `${functionName || "(anonymous)"}${where ? ` ${where}` : ""}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
    const area = areaOf(functionName, url);
    byArea.set(area, (byArea.get(area) ?? 0) + hits);
  }
  const rank = (map: Map<string, number>): ProfileEntry[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, hits]) => ({ name, percent: Math.round((1000 * hits) / Math.max(1, busy)) / 10 }));
  return { busyPercent: Math.round((1000 * busy) / Math.max(1, total)) / 10, topFunctions: rank(byFunction), topAreas: rank(byArea) };
}

function shortPath(url: string): string {
  const path = url.replace(/^file:\/\//, "");
  const modules = path.lastIndexOf("node_modules/");
  if (modules >= 0) return path.slice(modules + "node_modules/".length);
  const runtime = path.indexOf("/runtime/");
  if (runtime >= 0) return path.slice(runtime + 1);
  return path;
}

/** A package name, a folder of this project (runtime/store, ...), node's own code, or a V8 pseudo-frame. */
function areaOf(functionName: string, url: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const path = url.replace(/^file:\/\//, "");
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path.slice(path.lastIndexOf("node_modules/")));
  if (path.includes("node_modules/") && modules) return modules[1]!;
  if (path.startsWith("node:")) return `node:${path.slice(5).split("/")[1] ?? path.slice(5)}`;
  const runtime = /\/(runtime\/[^/]+)\//.exec(path);
  if (runtime) return runtime[1]!;
  return shortPath(path);
}
